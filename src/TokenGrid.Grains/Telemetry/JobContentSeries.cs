using System.Diagnostics.Metrics;
using TokenGrid.Abstractions.Jobs;

namespace TokenGrid.Grains.Telemetry;

/// <summary>
/// The retention series of <see cref="TokenGridInstruments"/>: job content deleted (jobs and bytes, by reason), the
/// sweep's batches, and the age of the oldest content still stored.
/// </summary>
internal sealed class JobContentSeries
{
    private static readonly double[] s_batchBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    private readonly Counter<long> _jobs;
    private readonly Counter<long> _bytes;
    private readonly Histogram<double> _batchDuration;
    private readonly Counter<long> _batchJobs;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private bool _swept;
    private DateTimeOffset? _oldest;

    public JobContentSeries(Meter meter, TimeProvider time)
    {
        _time = time;
        _jobs = meter.CreateCounter<long>("tokengrid.job_content.deleted_jobs", "{job}", "Jobs whose content was deleted from storage, by reason: expired, tenant or tenant_deleted.");
        _bytes = meter.CreateCounter<long>("tokengrid.job_content.deleted", "By", "Bytes of stored job state removed with the content, by reason.");
        _batchJobs = meter.CreateCounter<long>("tokengrid.job_content.swept_jobs", "{job}", "Jobs claimed by this silo's retention sweep batches.");
        _batchDuration = meter.CreateHistogram("tokengrid.job_content.sweep_batch_duration", "s",
            "One batch of the retention sweep: claim, delete the content of each job, release the claims.", tags: null,
            new InstrumentAdvice<double> { HistogramBucketBoundaries = s_batchBuckets });
        meter.CreateObservableGauge("tokengrid.job_content.oldest_age", ObserveOldest, "s",
            "Age of the oldest finished job still holding content (since it ended), as of this silo's last sweep; 0 when none does.");
    }

    public void OnDeleted(JobContentDeletionReason reason, long bytes)
    {
        var tag = new KeyValuePair<string, object?>("reason", reason switch
        {
            JobContentDeletionReason.Expired => "expired",
            JobContentDeletionReason.TenantDeleted => "tenant_deleted",
            _ => "tenant",
        });
        _jobs.Add(1, tag);
        _bytes.Add(bytes, tag);
    }

    public void OnBatch(int jobs, TimeSpan duration)
    {
        _batchJobs.Add(jobs);
        _batchDuration.Record(duration.TotalSeconds);
    }

    public void OnOldest(DateTimeOffset? finishedAt)
    {
        lock (_lock)
        {
            _swept = true;
            _oldest = finishedAt;
        }
    }

    private IEnumerable<Measurement<double>> ObserveOldest()
    {
        lock (_lock)
        {
            if (!_swept)
            {
                return [];
            }

            return [new Measurement<double>(_oldest is { } oldest ? Math.Max(0, (_time.GetUtcNow() - oldest).TotalSeconds) : 0)];
        }
    }
}
