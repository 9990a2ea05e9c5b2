using TokenGrid.Abstractions.Jobs;
using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.Scheduling;
using TokenGrid.Grains.Telemetry;
using TokenGrid.Grains.Tenants;

namespace TokenGrid.Grains.Jobs;

public sealed partial class JobGrain
{
    /// <summary>Records how the job ended (metrics) and ends its span.</summary>
    private void RecordEnd(JobInfo info, Ending ending)
    {
        var (outcome, reason) = OutcomeOf(info, ending);
        var interToken = info is { CompletionTokens: > 1, FirstTokenAt: { } first, FinishedAt: { } last }
            ? (last - first) / (info.CompletionTokens - 1)
            : (TimeSpan?)null;
        instruments.OnRequestFinished(new RequestEnd(
            info.Model, outcome, reason, info.FinishedAt - info.SubmittedAt, info.FirstTokenAt - info.SubmittedAt, interToken));
        TokenGridTracing.EndJob(_span, outcome, reason, info.CompletionTokens, info.Error);
        _span = null;
    }

    /// <summary>The outcome and its reason as stable codes (see <see cref="RequestEnd"/>).</summary>
    private (string Outcome, string Reason) OutcomeOf(JobInfo info, Ending ending) => info.Status switch
    {
        JobStatus.Succeeded => ("succeeded", ending.FinishReason ?? "stop"),
        JobStatus.Cancelled => ("cancelled", ending.Outcome == JobOutcome.Disconnected ? "client_disconnected" : "tenant"),
        JobStatus.Rejected => ("rejected", info.SchedulingRejection?.ToCode() ?? info.Admission?.Rejection?.ToCode() ?? "error"),
        _ => ("failed", ending.Outcome == JobOutcome.TimedOut ? "timed_out" : _siloStopping ? "interrupted" : "error"),
    };
}
