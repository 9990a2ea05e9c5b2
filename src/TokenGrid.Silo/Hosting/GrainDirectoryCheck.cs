using Orleans.Metadata;
using TokenGrid.Grains.Nodes;
using TokenGrid.Silo.Options;

namespace TokenGrid.Silo.Hosting;

/// <summary>
/// Keeps silos that run different grain directories (<see cref="ClusterHostingOptions.GrainDirectory"/>) from serving
/// one cluster, which Orleans does not detect. Each silo names its directory in the cluster manifest (a property of the
/// node grain type, <see cref="Property"/>; a silo of a release without it runs <see cref="GrainDirectoryKind.Local"/>),
/// and reads the others' as the manifest changes. A silo that finds an older silo (<see cref="IsOlder"/>) running another
/// directory is the one out of place (a rolling update that changed the setting): it logs why at Critical and stops with exit code 1, so the
/// roll halts with the old silos serving. The older silo only logs it.
/// </summary>
internal sealed partial class GrainDirectoryCheck(
    IClusterManifestProvider manifests, ILocalSiloDetails local, IHostApplicationLifetime lifetime, ClusterHostingOptions cluster,
    ILogger<GrainDirectoryCheck> logger) : BackgroundService
{
    /// <summary>The manifest property that names a silo's grain directory.</summary>
    public const string Property = "tokengrid.grain-directory";

    /// <summary>Exit code of a silo that stopped because an older silo runs another directory.</summary>
    public const int ExitCode = 1;

    /// <summary>Why this process's silo stopped itself (one line), or null: the host's start or run then ends cancelled.</summary>
    public static string? StoppedBecause { get; private set; }

    private readonly HashSet<SiloAddress> _reported = [];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var manifest in manifests.Updates.WithCancellation(stoppingToken))
            {
                if (Check(manifest))
                {
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (Exception e) when (!stoppingToken.IsCancellationRequested)
        {
            // A failure of the check must not stop a silo that serves (a background service's exception stops the host).
            LogCheckFailed(logger, e);
        }
    }

    /// <summary>Checks one manifest; true when this silo stops.</summary>
    private bool Check(ClusterManifest manifest)
    {
        var others = Mismatches(manifest, local.SiloAddress, cluster.GrainDirectory);
        var older = others.Where(o => IsOlder(o.Silo, local.SiloAddress)).ToList();
        if (older.Count > 0)
        {
            LogStopping(logger, cluster.GrainDirectory, older[0].Silo, older[0].Directory);
            StoppedBecause = $"this silo runs grain directory {cluster.GrainDirectory} (TokenGrid:Cluster:GrainDirectory), and silo "
                + $"{older[0].Silo}, older, runs {older[0].Directory}: silos with different directories must not serve one cluster. To "
                + "change the directory, stop every silo, then start them all with the new setting.";
            lifetime.StopApplication();
            return true;
        }

        foreach (var (silo, directory) in others.Where(o => _reported.Add(o.Silo)))
        {
            LogNewerMismatch(logger, silo, directory, cluster.GrainDirectory);
        }

        return false;
    }

    /// <summary>
    /// Whether <paramref name="other"/> counts as older than <paramref name="self"/>: an earlier generation (Orleans' start
    /// time, in seconds), and for two silos that started in the same second, the lower endpoint (Orleans' own order of
    /// silo addresses), so that of two mismatched silos exactly one stops.
    /// </summary>
    internal static bool IsOlder(SiloAddress other, SiloAddress self) => other.CompareTo(self) < 0;

    /// <summary>The silos of <paramref name="manifest"/> whose grain directory is not <paramref name="mine"/>.</summary>
    internal static IReadOnlyList<(SiloAddress Silo, string Directory)> Mismatches(ClusterManifest manifest, SiloAddress self, GrainDirectoryKind mine)
    {
        var mismatches = new List<(SiloAddress, string)>();
        foreach (var (silo, grains) in manifest.Silos)
        {
            if (silo.Equals(self) || grains.Grains.Values.FirstOrDefault(IsNodeGrain) is not { } node)
            {
                // This silo, or one whose manifest holds no node grain type (not a TokenGrid silo).
                continue;
            }

            var directory = node.Properties.GetValueOrDefault(Property) ?? nameof(GrainDirectoryKind.Local);
            if (!string.Equals(directory, mine.ToString(), StringComparison.Ordinal))
            {
                mismatches.Add((silo, directory));
            }
        }

        return mismatches;
    }

    private static bool IsNodeGrain(GrainProperties grain) =>
        grain.Properties.TryGetValue(WellKnownGrainTypeProperties.FullTypeName, out var name) && name == typeof(NodeGrain).FullName;

    [LoggerMessage(EventId = 3160, Level = LogLevel.Critical,
        Message = "This silo runs grain directory {Mine} (TokenGrid:Cluster:GrainDirectory), and silo {Other}, older, runs {Theirs}: silos with different directories must not serve one cluster. This silo stops; to change the directory, stop every silo, then start them all with the new setting (k8s/README.md, \"Grain directory\")")]
    private static partial void LogStopping(ILogger logger, GrainDirectoryKind mine, SiloAddress other, string theirs);

    [LoggerMessage(EventId = 3162, Level = LogLevel.Warning,
        Message = "The check that this silo's grain directory matches the cluster's stopped; the silo serves on without it")]
    private static partial void LogCheckFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 3161, Level = LogLevel.Error,
        Message = "Silo {Other} joined with grain directory {Theirs}, and this silo runs {Mine} (TokenGrid:Cluster:GrainDirectory): it stops itself, being the newer")]
    private static partial void LogNewerMismatch(ILogger logger, SiloAddress other, string theirs, GrainDirectoryKind mine);
}

/// <summary>Names this silo's grain directory on the node grain type in the cluster manifest (see <see cref="GrainDirectoryCheck"/>).</summary>
internal sealed class GrainDirectoryProperty(ClusterHostingOptions cluster) : IGrainPropertiesProvider
{
    public void Populate(Type grainClass, GrainType grainType, Dictionary<string, string> properties)
    {
        if (grainClass == typeof(NodeGrain))
        {
            properties[GrainDirectoryCheck.Property] = cluster.GrainDirectory.ToString();
        }
    }
}
