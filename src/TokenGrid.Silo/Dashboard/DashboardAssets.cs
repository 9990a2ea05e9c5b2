using System.Collections.Frozen;

namespace TokenGrid.Silo.Dashboard;

/// <summary>
/// The dashboard's files, embedded in the assembly at build time (the page, its script and styles, and Chart.js from
/// npm), read once. Nothing is served from disk or from another host.
/// </summary>
internal sealed class DashboardAssets
{
    private const string Prefix = "TokenGrid.Dashboard.";

    private readonly FrozenDictionary<string, byte[]> _files;

    public DashboardAssets()
    {
        var assembly = typeof(DashboardAssets).Assembly;
        var files = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith(Prefix, StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            files[resource[Prefix.Length..]] = copy.ToArray();
        }

        _files = files.ToFrozenDictionary(StringComparer.Ordinal);
    }

    /// <summary>A file by name (<c>index.html</c>, <c>chart.umd.min.js</c>), or null.</summary>
    public byte[]? Get(string name) => _files.GetValueOrDefault(name);

    /// <summary>The media type of a file by its extension.</summary>
    public static string ContentType(string name) => Path.GetExtension(name) switch
    {
        ".html" => "text/html; charset=utf-8",
        ".js" => "text/javascript; charset=utf-8",
        ".css" => "text/css; charset=utf-8",
        _ => "application/octet-stream",
    };
}
