using Microsoft.Extensions.Configuration.EnvironmentVariables;

namespace TokenGrid.Silo.Hosting;

/// <summary>
/// Configuration profiles: appsettings-style JSON files in <c>silo-config/</c> (copied beside the executable), chosen with
/// <c>--profile NAME</c> or <c>TOKENGRID_PROFILE</c>. A path ending in <c>.json</c> names a file anywhere.
/// </summary>
internal static class ConfigurationProfiles
{
    /// <summary>The command-line key (<c>--profile NAME</c>).</summary>
    public const string Key = "profile";

    /// <summary>The environment variable naming the profile.</summary>
    public const string EnvironmentVariable = "TOKENGRID_PROFILE";

    /// <summary>The profile used when none is chosen.</summary>
    public const string Default = "local";

    /// <summary>
    /// Adds the chosen profile beneath the environment variables (ASP.NET Core's <c>ASPNETCORE_</c> ones too, so
    /// <c>ASPNETCORE_URLS</c> overrides the profile's <c>Urls</c> as container images expect) and the command line, so
    /// all of them still override it, and returns its name.
    /// </summary>
    public static string AddProfile(ConfigurationManager configuration)
    {
        var profile = configuration[Key] ?? configuration[EnvironmentVariable] ?? Default;
        var path = profile.EndsWith(".json", StringComparison.OrdinalIgnoreCase)
            ? Path.GetFullPath(profile)
            : Path.Combine(AppContext.BaseDirectory, "silo-config", profile + ".json");
        if (!File.Exists(path))
        {
            var folder = Path.GetDirectoryName(path)!;
            IEnumerable<string> shipped = Directory.Exists(folder) && !profile.EndsWith(".json", StringComparison.OrdinalIgnoreCase)
                ? Directory.GetFiles(folder, "*.json").Select(f => Path.GetFileNameWithoutExtension(f)).Order(StringComparer.Ordinal)
                : [];
            throw new StartupConfigurationException(
                $"configuration profile '{profile}' (--profile or {EnvironmentVariable}) not found: there is no {path}; "
                + $"name one of {string.Join(", ", shipped.DefaultIfEmpty("the profiles in silo-config"))}, or a file ending in .json.");
        }

        var sources = configuration.Sources;
        var environment = sources
            .Select((source, index) => (source, index))
            .FirstOrDefault(s => s.source is EnvironmentVariablesConfigurationSource);
        var at = environment.source is null ? sources.Count : environment.index;
        var json = new Microsoft.Extensions.Configuration.Json.JsonConfigurationSource { Path = path, Optional = false, ReloadOnChange = false };
        json.ResolveFileProvider();
        sources.Insert(at, json);
        return profile;
    }
}
