using System.ComponentModel;
using System.Globalization;
using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;
using TokenGrid.Grains.Billing;
using TokenGrid.Grains.Capacity;
using TokenGrid.Grains.Catalog;
using TokenGrid.Grains.Jobs;
using TokenGrid.Grains.Jobs.Retention;
using TokenGrid.Grains.Nodes;
using TokenGrid.Grains.Scheduling;
using TokenGrid.Silo.Auth;
using TokenGrid.Silo.Billing;
using TokenGrid.Silo.Database;
using TokenGrid.Silo.Options;

namespace TokenGrid.Silo.Hosting;

/// <summary>
/// Reads every <c>TokenGrid:*</c> setting before the host is built, so that a value the configuration binder cannot
/// convert (<c>10m</c> for a duration, <c>abc</c> for a port, an enum name that does not exist) stops the start with one
/// line naming the setting, its value and what is allowed, rather than with the binder's exception and a stack trace
/// whenever the options happen to be read; and so does a setting no option reads (<c>TokenGrid__Admin__ApiKy</c>,
/// <c>TokenGrid__Databse__ConnectionString</c>), which the binder would ignore, leaving the default in force.
/// The binder's own <c>ErrorOnUnknownConfiguration</c> does not fit: it checks one type against one section, while
/// <c>TokenGrid:Jobs</c> is read by two types and a misspelled section name is read by none.
/// </summary>
internal static partial class SettingsCheck
{
    /// <summary>Every options type bound from a <c>TokenGrid</c> section, with its section.</summary>
    public static readonly IReadOnlyList<(string Section, Type Type)> Sections =
    [
        (ClusterHostingOptions.SectionName, typeof(ClusterHostingOptions)),
        (ApiOptions.SectionName, typeof(ApiOptions)),
        (AdminOptions.SectionName, typeof(AdminOptions)),
        (DemoOptions.SectionName, typeof(DemoOptions)),
        (PlannerAuthOptions.SectionName, typeof(PlannerAuthOptions)),
        (AuditorAuthOptions.SectionName, typeof(AuditorAuthOptions)),
        (DatabaseOptions.SectionName, typeof(DatabaseOptions)),
        (TelemetryOptions.SectionName, typeof(TelemetryOptions)),
        (KubernetesOptions.SectionName, typeof(KubernetesOptions)),
        (SpendWebhookOptions.SectionName, typeof(SpendWebhookOptions)),
        (ModelCatalogOptions.SectionName, typeof(ModelCatalogOptions)),
        (NodeOptions.SectionName, typeof(NodeOptions)),
        (JobRecoveryOptions.SectionName, typeof(JobRecoveryOptions)),
        (JobLifetimeOptions.SectionName, typeof(JobLifetimeOptions)),
        (JobRetentionOptions.SectionName, typeof(JobRetentionOptions)),
        (SchedulingOptions.SectionName, typeof(SchedulingOptions)),
        (CapacityOptions.SectionName, typeof(CapacityOptions)),
        (SubsidyOptions.SectionName, typeof(SubsidyOptions)),
    ];

    /// <summary>Throws <see cref="StartupConfigurationException"/> naming the first setting that cannot be read.</summary>
    public static void Run(IConfiguration configuration)
    {
        CheckUrls(configuration[WebHostDefaults.ServerUrlsKey]);
        foreach (var (section, type) in Sections)
        {
            try
            {
                configuration.GetSection(section).Get(type);
            }
            catch (InvalidOperationException e)
            {
                throw new StartupConfigurationException(Describe(e));
            }
        }

        var unknown = configuration.GetSection(Root).AsEnumerable()
            .Where(setting => setting.Value is not null && !IsKnown(setting.Key))
            .Select(setting => setting.Key)
            .Order(StringComparer.OrdinalIgnoreCase)
            .ToList();
        if (unknown.Count > 0)
        {
            throw new StartupConfigurationException(
                $"{string.Join(", ", unknown.Select(Suggest))}: no such setting{(unknown.Count > 1 ? "s" : "")}, so "
                + $"{(unknown.Count > 1 ? "they" : "it")} would be ignored (settings are listed in silo-config/README.md).");
        }
    }

    private const string Root = "TokenGrid";

    // Kestrel reads these only once the silo has started, and fails with a stack trace that names no setting.
    internal static void CheckUrls(string? urls)
    {
        foreach (var url in (urls ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            BindingAddress? address = null;
            try
            {
                address = BindingAddress.Parse(url);
            }
            catch (FormatException)
            {
            }

            if (address is null || !(address.Scheme.Equals("http", StringComparison.OrdinalIgnoreCase) || address.Scheme.Equals("https", StringComparison.OrdinalIgnoreCase))
                || address.Port is < 0 or > 65535)
            {
                throw new StartupConfigurationException(
                    $"Urls (ASPNETCORE_URLS, --urls or the profile's Urls) has '{url}', which is not an address to listen on: "
                    + "write http://HOST:PORT or https://HOST:PORT (HOST an IP address, localhost, or + for every interface; PORT from 0 to 65535), several separated by ';'.");
            }
        }
    }

    /// <summary>Whether some options type reads <paramref name="key"/> (a full path, <c>TokenGrid:Api:JobTimeout</c>).</summary>
    internal static bool IsKnown(string key) => Sections.Any(s => TypeAt(s, key) is not null);

    // The type the binder binds at key within a section's options, or null when the options have no such member.
    private static Type? TypeAt((string Section, Type Type) options, string key)
    {
        if (!key.Equals(options.Section, StringComparison.OrdinalIgnoreCase)
            && !key.StartsWith(options.Section + ":", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var type = options.Type;
        foreach (var part in key.Length == options.Section.Length ? [] : key[(options.Section.Length + 1)..].Split(':'))
        {
            type = Nullable.GetUnderlyingType(type) ?? type;
            if (IsValue(type))
            {
                return null;
            }

            if (ElementOf(type, typeof(IDictionary<,>), 1) is { } value)
            {
                type = value;
            }
            else if ((type.IsArray ? type.GetElementType() : ElementOf(type, typeof(IEnumerable<>), 0)) is { } item)
            {
                if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out _))
                {
                    return null;
                }

                type = item;
            }
            else if (type.GetProperty(part, BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase) is { } property)
            {
                type = property.PropertyType;
            }
            else
            {
                return null;
            }
        }

        return Nullable.GetUnderlyingType(type) ?? type;
    }

    // What the binder converts from one string rather than binding member by member.
    private static bool IsValue(Type type) =>
        type.IsPrimitive || type.IsEnum || type == typeof(string) || TypeDescriptor.GetConverter(type).CanConvertFrom(typeof(string));

    private static Type? ElementOf(Type type, Type generic, int argument) =>
        (type.IsGenericType && type.GetGenericTypeDefinition() == generic ? type : type.GetInterfaces()
            .FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == generic))?.GetGenericArguments()[argument];

    // The setting, and the known name it is closest to when one is near enough to be a misspelling.
    private static string Suggest(string key)
    {
        var parts = key.Split(':');
        for (var at = parts.Length - 1; at > 0; at--)
        {
            var parent = string.Join(':', parts[..at]);
            var names = NamesUnder(parent).ToList();
            if (names.Count == 0)
            {
                continue;
            }

            var near = names.Select(n => (Name: n, Distance: Distance(n, parts[at]))).Where(n => n.Distance <= 2).OrderBy(n => n.Distance).FirstOrDefault();
            return near.Name is null ? key : $"{key} (did you mean {string.Join(':', [parent, near.Name, .. parts[(at + 1)..]])}?)";
        }

        return key;
    }

    // The names a setting can have right under parent: sections' names, and the members of the options bound there.
    private static IEnumerable<string> NamesUnder(string parent)
    {
        var depth = parent.Split(':').Length;
        var sections = Sections.Select(s => s.Section.Split(':'))
            .Where(s => s.Length > depth && string.Join(':', s[..depth]).Equals(parent, StringComparison.OrdinalIgnoreCase))
            .Select(s => s[depth]);
        var members = Sections.Select(s => TypeAt(s, parent))
            .Where(t => t is not null && !IsValue(t) && ElementOf(t, typeof(IEnumerable<>), 0) is null)
            .SelectMany(t => t!.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite).Select(p => p.Name));
        return sections.Concat(members).Distinct(StringComparer.OrdinalIgnoreCase);
    }

    // Levenshtein distance, case-insensitive (configuration keys are).
    private static int Distance(string a, string b)
    {
        a = a.ToUpperInvariant();
        b = b.ToUpperInvariant();
        var row = Enumerable.Range(0, b.Length + 1).ToArray();
        for (var i = 1; i <= a.Length; i++)
        {
            var diagonal = row[0];
            row[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var above = row[j];
                row[j] = Math.Min(Math.Min(row[j] + 1, row[j - 1] + 1), diagonal + (a[i - 1] == b[j - 1] ? 0 : 1));
                diagonal = above;
            }
        }

        return row[b.Length];
    }

    /// <summary>The binder's failure as one line: the setting, its value and what the setting takes.</summary>
    internal static string Describe(InvalidOperationException error)
    {
        if (ConversionFailure().Match(error.Message) is not { Success: true } match)
        {
            return error.GetBaseException().Message is var inner && inner != error.Message ? $"{error.Message} {inner}" : error.Message;
        }

        var value = match.Groups["value"].Value;
        var shown = value.Length > 80 ? value[..80] + "…" : value;
        return $"{match.Groups["key"].Value} is '{shown}', which is not {Expected(match.Groups["type"].Value)}.";
    }

    private static string Expected(string typeName)
    {
        var nullable = NullableOf().Match(typeName);
        var name = nullable.Success ? nullable.Groups["type"].Value : typeName;
        var type = Type.GetType(name) ?? AppDomain.CurrentDomain.GetAssemblies().Select(a => a.GetType(name)).FirstOrDefault(t => t is not null);
        return type switch
        {
            null => $"a value of type {name}",
            { IsEnum: true } => $"one of {string.Join(", ", Enum.GetNames(type))}",
            _ when type == typeof(TimeSpan) => "a duration written [d.]hh:mm:ss[.fff], such as 00:00:30 (30 seconds) or 1.00:00:00 (a day)",
            _ when type == typeof(bool) => "true or false",
            _ when type == typeof(int) => Whole(int.MinValue, int.MaxValue),
            _ when type == typeof(long) => Whole(long.MinValue, long.MaxValue),
            _ when type == typeof(double) || type == typeof(decimal) => "a number, such as 0.5",
            _ when type == typeof(Uri) => "a URL",
            _ => $"a value of type {type.Name}",
        };

        static string Whole(long min, long max) =>
            $"a whole number from {min.ToString("N0", CultureInfo.InvariantCulture)} to {max.ToString("N0", CultureInfo.InvariantCulture)}";
    }

    [GeneratedRegex(@"^Failed to convert configuration value '(?<value>.*)' at '(?<key>[^']*)' to type '(?<type>[^']*)'", RegexOptions.Singleline)]
    private static partial Regex ConversionFailure();

    [GeneratedRegex(@"^System\.Nullable`1\[\[(?<type>[^,\]]+)")]
    private static partial Regex NullableOf();
}
