using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.Metadata.Ecma335;
using System.Reflection.PortableExecutable;
using System.Text.RegularExpressions;

namespace TokenGrid.Silo.Tests.Database;

/// <summary>
/// Our migrations hold the Orleans ADO.NET schema (0001–0003) instead of Orleans' own scripts, so an Orleans upgrade whose
/// providers ask for a query key our OrleansQuery rows lack would break clustering, storage or reminders only at run time.
/// The providers name their keys as string literals (<c>nameof(MembershipReadAllKey)</c> and the persistence provider's
/// <c>QueryKey = 'WriteToStorageKey'</c>): this reads them from the provider assemblies in use and checks every one
/// against a freshly migrated database.
/// </summary>
[Collection(PostgresSiloCollection.Name)]
public sealed partial class OrleansQueryKeysTests
{
    private static readonly string[] s_providers = ["Orleans.Clustering.AdoNet", "Orleans.Persistence.AdoNet", "Orleans.Reminders.AdoNet"];

    /// <summary>
    /// Keys a provider of this Orleans version uses only when present. <c>CleanupDefunctSiloEntryKey</c>: the clustering
    /// provider falls back to <c>CleanupDefunctSiloEntriesKey</c> (which we have) on a catalog without it.
    /// </summary>
    private static readonly HashSet<string> s_optional = ["CleanupDefunctSiloEntryKey"];

    /// <summary>Literals ending in Key that are not query keys (a column name, a serializer option).</summary>
    private static readonly HashSet<string> s_notQueries = ["QueryKey", "SerializerKey"];

    [Fact]
    public async Task Every_query_key_the_orleans_providers_ask_for_is_in_our_migrations()
    {
        var asked = s_providers.SelectMany(name => KeysIn(Assembly.Load(name)).Select(key => (Provider: name, Key: key))).ToList();
        Assert.True(asked.Count >= 15, $"Found only {asked.Count} query keys in the providers; the way they name them has changed: {string.Join(", ", asked)}.");

        await using var database = await PostgresTestDatabase.CreateAsync(migrate: true);
        var installed = (await database.QueryAsync("SELECT querykey FROM orleansquery")).Select(row => (string)row[0]).ToHashSet();
        var missing = asked.Where(a => !installed.Contains(a.Key) && !s_optional.Contains(a.Key)).ToList();
        Assert.True(missing.Count == 0,
            "Orleans' ADO.NET providers ask for query keys our migrations do not install; add them in a new migration: "
            + string.Join(", ", missing.Select(m => $"{m.Key} ({m.Provider})")));
    }

    /// <summary>The string literals of <paramref name="assembly"/> that look like query keys.</summary>
    private static IEnumerable<string> KeysIn(Assembly assembly)
    {
        using var stream = File.OpenRead(assembly.Location);
        using var pe = new PEReader(stream);
        var metadata = pe.GetMetadataReader();
        var keys = new HashSet<string>(StringComparer.Ordinal);
        for (var handle = MetadataTokens.UserStringHandle(1); !handle.IsNil; handle = metadata.GetNextHandle(handle))
        {
            foreach (Match match in KeyPattern().Matches(metadata.GetUserString(handle)))
            {
                if (!s_notQueries.Contains(match.Value))
                {
                    keys.Add(match.Value);
                }
            }
        }

        return keys;
    }

    [GeneratedRegex(@"\b[A-Z][A-Za-z]+Key\b")]
    private static partial Regex KeyPattern();
}
