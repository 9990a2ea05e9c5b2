using System.Globalization;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;

namespace TokenGrid.Storage.Postgres.Migrations;

/// <summary>One versioned schema change: <c>Migrations/NNNN_name.sql</c>, embedded in this assembly.</summary>
/// <param name="Version">The number before the first underscore; migrations apply in ascending order.</param>
/// <param name="Name">The rest of the file name, without <c>.sql</c>.</param>
/// <param name="Sql">The script, run in one transaction.</param>
/// <param name="Checksum">SHA-256 of the script (line endings normalized), hex: an applied migration must not change.</param>
public sealed record Migration(int Version, string Name, string Sql, string Checksum)
{
    private const string ResourcePrefix = "TokenGrid.Migrations.";

    /// <summary>TokenGrid's migrations, in version order.</summary>
    public static IReadOnlyList<Migration> All { get; } = Load(typeof(Migration).Assembly);

    /// <summary>A migration from its file name (<c>0001_orleans_clustering.sql</c>) and text.</summary>
    public static Migration Parse(string fileName, string sql)
    {
        ArgumentNullException.ThrowIfNull(fileName);
        ArgumentNullException.ThrowIfNull(sql);
        var stem = Path.GetFileNameWithoutExtension(fileName);
        var underscore = stem.IndexOf('_', StringComparison.Ordinal);
        if (underscore <= 0 || !int.TryParse(stem.AsSpan(0, underscore), NumberStyles.None, CultureInfo.InvariantCulture, out var version) || version < 1)
        {
            throw new FormatException($"Migration '{fileName}' is not named NNNN_name.sql.");
        }

        var normalized = sql.Replace("\r\n", "\n", StringComparison.Ordinal);
        var checksum = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(normalized)));
        return new Migration(version, stem[(underscore + 1)..], normalized, checksum);
    }

    private static List<Migration> Load(Assembly assembly)
    {
        var migrations = new List<Migration>();
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var reader = new StreamReader(stream, Encoding.UTF8);
            migrations.Add(Parse(resource[ResourcePrefix.Length..], reader.ReadToEnd()));
        }

        migrations.Sort((a, b) => a.Version.CompareTo(b.Version));
        var duplicate = migrations.Zip(migrations.Skip(1)).FirstOrDefault(p => p.First.Version == p.Second.Version);
        return duplicate.First is null
            ? migrations
            : throw new InvalidOperationException($"Migrations {duplicate.First.Name} and {duplicate.Second.Name} share version {duplicate.First.Version}.");
    }
}
