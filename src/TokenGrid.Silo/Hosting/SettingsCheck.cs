using System.Globalization;
using System.Text.RegularExpressions;
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
/// whenever the options happen to be read.
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
