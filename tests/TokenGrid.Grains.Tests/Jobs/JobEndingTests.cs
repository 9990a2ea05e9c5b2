using TokenGrid.Abstractions.Jobs;
using TokenGrid.Abstractions.Nodes;
using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.Jobs;
using TokenGrid.Grains.Storage;
using TokenGrid.Grains.Telemetry;

namespace TokenGrid.Grains.Tests.Jobs;

/// <summary>How a job ends, and the stable codes its metrics record, on their own.</summary>
public sealed class JobEndingTests
{
    private static readonly JobInfo Job = new() { Id = "j", TenantId = "t", Model = "m" };

    [Fact]
    public void A_run_ends_by_its_final_chunk_with_the_tokens_of_every_run()
    {
        Assert.Equal(new JobEnding(JobStatus.Succeeded, JobOutcome.Completed, null, "length", 9),
            JobEnding.OfRun(new GenerationFinal("length", 3, 4, null, Refused: false), "n1", 9));
        Assert.Equal(new JobEnding(JobStatus.Failed, JobOutcome.Failed, "busy", Refused: true),
            JobEnding.OfRun(new GenerationFinal("failed", 0, 0, "busy", Refused: true), "n1", 5));
        Assert.Equal(new JobEnding(JobStatus.Failed, JobOutcome.Failed, "The sequence ended as cancelled.", null, 5),
            JobEnding.OfRun(new GenerationFinal("cancelled", 3, 2, null, Refused: false), "n1", 5));
        Assert.Equal(new JobEnding(JobStatus.Failed, JobOutcome.Failed, "Node 'n1' ended the sequence without its usage."),
            JobEnding.OfRun(null, "n1", 5));
    }

    [Fact]
    public void A_cancelled_run_ends_as_interrupted_when_its_silo_stops_else_by_the_first_reason_or_its_timeout()
    {
        Assert.Equal(JobStatus.Failed, JobEnding.Cancelled(JobOutcomeReason.CancelledByTenant, siloStopping: true, null).Status);
        Assert.Equal(JobOutcome.Disconnected, JobEnding.Cancelled(JobOutcomeReason.ClientDisconnected, false, null).Outcome);
        Assert.Equal(JobOutcome.Cancelled, JobEnding.Cancelled(JobOutcomeReason.CancelledByTenant, false, null).Outcome);
        var timedOut = JobEnding.Cancelled(null, false, TimeSpan.FromSeconds(5));
        Assert.Equal((JobStatus.Failed, JobOutcome.TimedOut), (timedOut.Status, timedOut.Outcome));
        Assert.Equal($"The job did not finish within {TimeSpan.FromSeconds(5)}.", timedOut.Error);
    }

    [Fact]
    public void The_codes_name_the_outcome_and_its_reason()
    {
        var succeeded = Job with { Status = JobStatus.Succeeded };
        Assert.Equal(("succeeded", "stop"), new JobEnding(JobStatus.Succeeded, JobOutcome.Completed, null).Codes(succeeded, false));
        Assert.Equal(("succeeded", "length"), new JobEnding(JobStatus.Succeeded, JobOutcome.Completed, null, "length").Codes(succeeded, false));

        var cancelled = Job with { Status = JobStatus.Cancelled };
        Assert.Equal(("cancelled", "client_disconnected"), JobEnding.Cancelled(JobOutcomeReason.ClientDisconnected, false, null).Codes(cancelled, false));
        Assert.Equal(("cancelled", "tenant"), JobEnding.Cancelled(JobOutcomeReason.CancelledByTenant, false, null).Codes(cancelled, false));

        var rejected = Job with { Status = JobStatus.Rejected };
        Assert.Equal(("rejected", "error"), new JobEnding(JobStatus.Rejected, null, "x").Codes(rejected, false));

        var failed = Job with { Status = JobStatus.Failed };
        var ending = new JobEnding(JobStatus.Failed, JobOutcome.Failed, "x");
        Assert.Equal(("failed", "error"), ending.Codes(failed, siloStopping: false));
        Assert.Equal(("failed", "interrupted"), ending.Codes(failed, siloStopping: true));
        Assert.Equal(("failed", "timed_out"), JobEnding.Cancelled(null, false, null).Codes(failed, siloStopping: false));
    }

    [Fact]
    public void A_job_not_accepted_because_storage_or_a_silo_is_unavailable_is_rejected_else_it_fails()
    {
        var storage = JobEnding.NotAccepted(new StorageUnavailableException("down"), "The job could not be saved");
        Assert.Equal((JobStatus.Rejected, JobOutcome.Failed), (storage.Status, storage.Outcome));
        Assert.Equal("The job could not be saved: storage is unavailable; retry shortly.", storage.Error);

        // The exception's text (here it quotes an internal address) stays in the log, out of what the tenant reads.
        var failed = JobEnding.NotAccepted(new InvalidOperationException("broken at S10.0.0.7:11111"), "Admission failed");
        Assert.Equal(new JobEnding(JobStatus.Failed, JobOutcome.Failed, "Admission failed."), failed);

        // A database error a retry does not fix fails it as a fault (500, no retry invited), also across silos.
        var fault = JobEnding.NotAccepted(new StorageFailedException("Tenant 'a' could not save its state (42501: permission denied for table x).", "42501"), "Admission failed");
        Assert.Equal(new JobEnding(JobStatus.Failed, JobOutcome.Failed, "Admission failed.", Faulted: true), fault);
        Assert.True(fault.Apply(Job, null, DateTimeOffset.UnixEpoch, null, 0, null).Faulted);
        var outage = JobEnding.NotAccepted(new StorageUnavailableException("Tenant 'a' could not save its state (57P01: terminating connection)."), "Admission failed");
        Assert.Equal((JobStatus.Rejected, false), (outage.Status, outage.Faulted));
    }

    [Fact]
    public void An_ended_job_leaves_its_queue_with_its_ending_tokens_and_kept_output()
    {
        var t0 = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var queued = Job with { Status = JobStatus.Queued, NodeId = "n0", QueuePosition = 2, ExpectedWait = TimeSpan.FromSeconds(3) };
        var ending = new JobEnding(JobStatus.Succeeded, JobOutcome.Completed, null, "length", 9);

        var ended = ending.Apply(queued, null, t0, t0.AddMinutes(5), 9, "text");

        Assert.Equal((JobStatus.Succeeded, "n0", "length", (string?)null), (ended.Status, ended.NodeId, ended.FinishReason, ended.Error));
        Assert.Equal((t0, t0.AddMinutes(5), 9, "text"), (ended.FinishedAt, ended.ContentExpiresAt, ended.CompletionTokens, ended.Output));
        Assert.Equal((null, null), (ended.QueuePosition, ended.ExpectedWait));
        Assert.Equal("n1", ending.Apply(queued, "n1", t0, null, 9, null).NodeId);

        // The region of the node it ended on, when the job knows it; else the one it had.
        var regions = new Dictionary<string, string?> { ["n0"] = "eu-west" };
        Assert.Equal("eu-west", ending.Apply(queued, null, t0, null, 9, null, regions).NodeRegion);
        Assert.Equal("us-east", ending.Apply(queued with { NodeRegion = "us-east" }, "n1", t0, null, 9, null, regions).NodeRegion);
    }

    [Fact]
    public void The_metrics_record_the_latencies_and_the_mean_time_between_tokens_after_the_first()
    {
        var t0 = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var ended = Job with
        {
            Status = JobStatus.Succeeded, SubmittedAt = t0, FirstTokenAt = t0.AddSeconds(1), FinishedAt = t0.AddSeconds(5), CompletionTokens = 5,
        };
        var ending = new JobEnding(JobStatus.Succeeded, JobOutcome.Completed, null, "stop", 5);

        Assert.Equal(new RequestEnd("m", "succeeded", "stop", TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1)),
            ending.Metrics(ended, siloStopping: false));
        Assert.Null(ending.Metrics(ended with { CompletionTokens = 1 }, false).InterTokenLatency);
        Assert.Null(ending.Metrics(ended with { FirstTokenAt = null }, false).TimeToFirstToken);
    }
}
