namespace TokenGrid.Silo.Options;

/// <summary>How the silo joins its cluster and where it keeps grain state (section <see cref="SectionName"/>).</summary>
/// <example>
/// <code>
/// "TokenGrid": { "Cluster": { "Clustering": "Localhost", "Storage": "Memory", "SiloPort": 11111 } }
/// </code>
/// With <c>AdoNet</c> clustering or storage, the database is configured in <c>TokenGrid:Database</c> (DatabaseOptions).
/// </example>
public sealed class ClusterHostingOptions : IValidatedOptions
{
    /// <summary>Configuration section.</summary>
    public static string SectionName => "TokenGrid:Cluster";

    /// <summary>Membership provider. Default: <see cref="ClusteringKind.Localhost"/>.</summary>
    public ClusteringKind Clustering { get; set; } = ClusteringKind.Localhost;

    /// <summary>Grain state provider for <c>TokenGridStorage.Name</c>. Default: <see cref="StorageKind.Memory"/>.</summary>
    public StorageKind Storage { get; set; } = StorageKind.Memory;

    /// <summary>Orleans cluster id: silos with the same id form one cluster. Default: <c>tokengrid</c>.</summary>
    public string ClusterId { get; set; } = "tokengrid";

    /// <summary>Orleans service id: keeps stored state apart between deployments. Default: <c>tokengrid</c>.</summary>
    public string ServiceId { get; set; } = "tokengrid";

    /// <summary>
    /// The silo's name, the first part of its node ids (<c>{silo}/cpu0</c>). Default: null, meaning the machine name.
    /// </summary>
    public string? SiloName { get; set; }

    /// <summary>Silo-to-silo port. Default: 11111.</summary>
    public int SiloPort { get; set; } = 11111;

    /// <summary>
    /// Orleans' client gateway port, or 0 for none. Default: 0. The silo serves its API over HTTP in-process and needs no
    /// Orleans client; a gateway would take grain calls from any client that reaches it, with no credential (Orleans has
    /// none), below all of the API's authentication. Open one only on a network that no one else reaches.
    /// </summary>
    public int GatewayPort { get; set; }

    /// <summary>
    /// The address other silos and clients reach this silo at, with <see cref="ClusteringKind.AdoNet"/> (for example the
    /// pod IP, or 127.0.0.1 for silos on one machine). Default: null, meaning this host's first IPv4 address.
    /// </summary>
    public string? AdvertisedAddress { get; set; }

    /// <summary>
    /// Most grain locations the silo's directory cache keeps (Orleans' <c>GrainDirectoryOptions.CacheSize</c>, whose
    /// default is 1,000,000). Every job is a grain whose location the cache may keep after the job is gone (a silo under
    /// load held 10,329 locations after 10,000 requests and 14,246 after 50,000, about 250 bytes each); nothing but this
    /// size bounds them. A location not cached is looked up in the cluster's directory. 0 turns the cache off.
    /// Default: 100,000.
    /// </summary>
    public int DirectoryCacheSize { get; set; } = 100_000;

    /// <summary>
    /// The grain directory the cluster keeps (<c>TokenGrid:Cluster:GrainDirectory</c>). Every silo of one cluster must run
    /// the same; changing it takes a stop of the whole cluster, then a start. Default: <see cref="GrainDirectoryKind.Local"/>.
    /// </summary>
    public GrainDirectoryKind GrainDirectory { get; set; } = GrainDirectoryKind.Local;

    /// <summary>How fast a dead silo is declared dead (<c>TokenGrid:Cluster:Membership</c>). Default: see <see cref="MembershipTimingOptions"/>.</summary>
    public MembershipTimingOptions Membership { get; set; } = new();

    /// <summary>Whether a provider keeps its data in the database (<c>TokenGrid:Database</c>).</summary>
    public bool UsesDatabase => Clustering == ClusteringKind.AdoNet || Storage == StorageKind.AdoNet;

    /// <summary>The silo name in effect.</summary>
    public string EffectiveSiloName => string.IsNullOrWhiteSpace(SiloName) ? Environment.MachineName : SiloName;

    /// <inheritdoc />
    public string? Validate() =>
        !Enum.IsDefined(Clustering) ? "clustering must be Localhost or AdoNet."
        : !Enum.IsDefined(Storage) ? "storage must be Memory or AdoNet."
        : AdvertisedAddress is not null && !System.Net.IPAddress.TryParse(AdvertisedAddress, out _) ? "the advertised address must be an IP address."
        : string.IsNullOrWhiteSpace(ClusterId) ? "cluster id is required."
        : string.IsNullOrWhiteSpace(ServiceId) ? "service id is required."
        : SiloPort is < 1 or > 65535 ? "silo port must be between 1 and 65535."
        : GatewayPort is < 0 or > 65535 ? "gateway port must be 0 (no gateway) or between 1 and 65535."
        : SiloPort == GatewayPort ? "silo and gateway ports must differ."
        : DirectoryCacheSize < 0 ? "the directory cache size must not be negative."
        : EffectiveSiloName.Contains('/', StringComparison.Ordinal) ? "the silo name must not contain '/'."
        : Membership?.Validate() ?? (Membership is null ? "membership settings are required." : null);
}

/// <summary>Cluster membership providers.</summary>
public enum ClusteringKind
{
    /// <summary>A single-machine development cluster (Orleans <c>UseLocalhostClustering</c>).</summary>
    Localhost,

    /// <summary>
    /// Orleans ADO.NET clustering on PostgreSQL (<c>TokenGrid:Database</c>): silos on any machines with the same cluster
    /// id form one cluster.
    /// </summary>
    AdoNet,
}

/// <summary>Where a cluster records which silo holds each grain (Orleans' grain directory).</summary>
public enum GrainDirectoryKind
{
    /// <summary>
    /// Orleans' default directory, spread over the silos by hash and eventually consistent. When a silo leaves, even by a
    /// graceful stop, the grains whose entries it held are deactivated on the silos that stay: about one in six of a
    /// three-silo cluster's grains elsewhere, job grains among them, which then resume from their checkpoints.
    /// </summary>
    Local,

    /// <summary>
    /// Orleans' strongly consistent directory (<c>AddDistributedGrainDirectory</c>): a leaving silo's ranges are taken
    /// over without deactivating any grain on the silos that stay, and a grain never has two activations, also while
    /// silos join and leave. Orleans still marks its API experimental (ORLEANSEXP003); its own test clusters run on it.
    /// </summary>
    Distributed,
}

/// <summary>Grain state providers.</summary>
public enum StorageKind
{
    /// <summary>In memory: everything is lost when the silo stops.</summary>
    Memory,

    /// <summary>
    /// Orleans ADO.NET grain storage and reminders on PostgreSQL (<c>TokenGrid:Database</c>), and the token ledger and job
    /// index there too: state survives restarts and moves between silos.
    /// </summary>
    AdoNet,
}
