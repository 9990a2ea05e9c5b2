using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Storage;
using TokenGrid.Abstractions.Jobs;
using TokenGrid.Grains.Telemetry;

namespace TokenGrid.Grains.Jobs.Retention;

/// <summary>What one sweep did.</summary>
/// <param name="Jobs">Jobs whose content was deleted from storage.</param>
/// <param name="Bytes">Bytes of serialized job state that removed.</param>
/// <param name="Batches">Batches that claimed at least one job.</param>
public sealed record JobContentSweep(int Jobs, long Bytes, int Batches);

/// <summary>
/// Deletes expired job content from grain storage without activating the jobs: it claims a batch of due entries from the
/// <see cref="IJobContentExpiryStore"/>, rewrites each job's stored state without its content (a versioned write, as the
/// grain's own), removes the batch's entries, and goes on until nothing is due, resting between batches as long as each
/// took (a backlog goes at most at half speed rather than taking the machine from the requests it serves). An activation
/// still alive for such a job forgets the content itself once its expiry passes, so reads agree with storage either way.
/// Every silo runs one (<see cref="JobRetentionService"/>); claims keep them off each other's batches.
/// </summary>
public sealed partial class JobContentSweeper(
    JobRetention retention,
    [FromKeyedServices(TokenGridStorage.Name)] IGrainStorage storage,
    IGrainFactory grains,
    IOptions<JobRetentionOptions> options,
    TokenGridInstruments instruments,
    TimeProvider timeProvider,
    ILogger<JobContentSweeper> logger)
{
    /// <summary>The name of the job grain's persistent state.</summary>
    public const string StateName = "job";

    /// <summary>A claimed batch whose sweeper died is claimed again after this long.</summary>
    private static readonly TimeSpan s_claimFor = TimeSpan.FromMinutes(5);

    private readonly SemaphoreSlim _oneAtATime = new(1, 1);

    /// <summary>Raised after each sweep with what it did.</summary>
    public event EventHandler<JobContentSweep>? Swept;

    /// <summary>Deletes all content due now, batch by batch; also refreshes the oldest-content gauge.</summary>
    public async Task<JobContentSweep> SweepAsync(CancellationToken cancellationToken = default)
    {
        await _oneAtATime.WaitAsync(cancellationToken);
        try
        {
            var batchSize = options.Value.BatchSize;
            int jobs = 0, batches = 0;
            long bytes = 0;
            while (true)
            {
                var now = timeProvider.GetUtcNow();
                var clock = Stopwatch.StartNew();
                var due = await retention.Store.ClaimDueAsync(now, batchSize, now + s_claimFor, cancellationToken);
                var done = new List<string>(due.Count);
                foreach (var expiry in due)
                {
                    try
                    {
                        bytes += await DeleteAsync(expiry);
                        jobs++;
                        done.Add(expiry.JobId);
                    }
                    catch (Exception e) when (e is not OperationCanceledException)
                    {
                        // Left claimed: a later sweep tries again once the claim runs out.
                        LogDeleteFailed(logger, e, expiry.JobId);
                    }
                }

                if (done.Count > 0)
                {
                    await retention.Store.RemoveAsync(done, cancellationToken);
                }

                if (due.Count > 0)
                {
                    batches++;
                    instruments.OnJobContentSweepBatch(due.Count, clock.Elapsed);
                }

                if (due.Count < batchSize)
                {
                    break;
                }

                // More is due: rest as long as the batch took before the next, so a sweep's burst of reads and writes
                // takes at most half of one thread and of the database, and requests served meanwhile are slowed less.
                // Real time, not the app's clock: the rest shares the machine, it is no deadline.
                await Task.Delay(clock.Elapsed, cancellationToken);
            }

            instruments.OnJobContentOldest(await retention.Store.OldestFinishedAtAsync(cancellationToken));
            if (jobs > 0)
            {
                LogSwept(logger, jobs, bytes, batches);
            }

            var sweep = new JobContentSweep(jobs, bytes, batches);
            Swept?.Invoke(this, sweep);
            return sweep;
        }
        finally
        {
            _oneAtATime.Release();
        }
    }

    /// <summary>Deletes one job's content from storage; the bytes removed (0 when it was gone already).</summary>
    private async Task<long> DeleteAsync(JobContentExpiry expiry)
    {
        var grainId = grains.GetGrain<IJobGrain>(expiry.JobId).GetGrainId();
        for (var attempt = 0; ; attempt++)
        {
            var stored = new GrainState<JobState>();
            await storage.ReadStateAsync(StateName, grainId, stored);
            if (!stored.RecordExists || stored.State?.Info is not { IsFinished: true, ContentDeleted: null })
            {
                // Deleted already (by the tenant, or by the job's own activation), or not a finished job any more.
                return 0;
            }

            var removed = retention.Erase(stored.State, new JobContentDeletion(JobContentDeletionReason.Expired, expiry.ExpiresAt));
            try
            {
                await storage.WriteStateAsync(StateName, grainId, stored);
            }
            catch (InconsistentStateException) when (attempt < 2)
            {
                // The job's activation wrote in between: read its newer state and delete from that.
                continue;
            }

            retention.Deleted(JobContentDeletionReason.Expired, removed);
            return removed;
        }
    }
}
