using TokenGrid.Abstractions.Jobs;
using TokenGrid.Abstractions.Nodes;
using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.Jobs;

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
}
