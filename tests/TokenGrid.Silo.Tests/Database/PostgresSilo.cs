using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests.Database;

/// <summary>Settings that start a <see cref="TokenGridServer"/> on the <c>postgres</c> profile.</summary>
public static class PostgresSilo
{
    /// <summary>The postgres profile on <paramref name="connectionString"/>, advertising 127.0.0.1, in <paramref name="clusterId"/>.</summary>
    public static Dictionary<string, string> Settings(string connectionString, string? clusterId = null)
    {
        var settings = new Dictionary<string, string>
        {
            ["profile"] = "postgres",
            ["TokenGrid:Database:ConnectionString"] = connectionString,
            ["TokenGrid:Database:StartupRetryDelay"] = "00:00:00.050",
            ["TokenGrid:Database:StartupRetryMaxDelay"] = "00:00:00.500",
            ["TokenGrid:Cluster:AdvertisedAddress"] = "127.0.0.1",
            ["Logging:LogLevel:Npgsql"] = "Error",
        };
        if (clusterId is not null)
        {
            settings["TokenGrid:Cluster:ClusterId"] = clusterId;
        }

        return settings;
    }
}

/// <summary>
/// Tests that start silos on the postgres profile run one at a time: each silo loads a model and joins through the
/// database, and starting several at once on a small machine slows the other test assemblies' timing-sensitive tests.
/// </summary>
[CollectionDefinition(Name)]
public sealed class PostgresSiloCollection
{
    public const string Name = "PostgresSilos";
}
