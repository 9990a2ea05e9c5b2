using TokenGrid.Abstractions.Jobs;
using TokenGrid.Abstractions.Nodes;
using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.Scheduling;
using TokenGrid.Grains.Storage;
using TokenGrid.Grains.Telemetry;
using TokenGrid.Grains.Tenants;

namespace TokenGrid.Grains.Jobs;

/// <summary>How a job ends.</summary>
/// <param name="Status">Final status.</param>
/// <param name="Outcome">Ledger outcome; null for a rejected job, which has nothing to settle.</param>
/// <param name="Error">What went wrong, or null.</param>
/// <param name="FinishReason"><c>stop</c> or <c>length</c> for a job that succeeded.</param>
/// <param name="CompletionTokens">Exact tokens from the node's final usage; null to use the tokens received.</param>
/// <param name="Refused">The node never started the run (busy, draining): the job may be placed again.</param>
/// <param name="EndedWithRequest">
/// Cancelled by the server with its request (a sibling choice was refused or failed), not by the tenant or client;
/// settled as any cancel.
/// </param>
/// <param name="Faulted">Failed before it was accepted on an error a retry does not fix (see <see cref="JobInfo.Faulted"/>).</param>
internal readonly record struct JobEnding(
    JobStatus Status, JobOutcome? Outcome, string? Error, string? FinishReason = null, int? CompletionTokens = null, bool Refused = false,
    bool EndedWithRequest = false, bool Faulted = false)
{
    /// <summary>
    /// How a chat or completion ends that was reactivated from its checkpoint and that no client re-attached to within
    /// <paramref name="grace"/> (<see cref="JobRecoveryOptions.UnwatchedStreamGrace"/>): as a client that left.
    /// </summary>
    public static JobEnding Unwatched(TimeSpan grace) => new(
        JobStatus.Cancelled, JobOutcome.Disconnected,
        $"The client disconnected: the job was interrupted (the silo running it stopped) and no client re-attached to its stream within {grace}.");

    /// <summary>The error of a job ended with its request (see <see cref="JobOutcomeReason.EndedWithRequest"/>).</summary>
    public const string EndedWithRequestError = "Ended with its request: another choice of the request was refused or failed.";

    /// <summary>
    /// How a cancelled run ends: interrupted when its silo stops, else by the tenant or client (the first
    /// <paramref name="reason"/> given), else by its <paramref name="timeout"/>.
    /// </summary>
    public static JobEnding Cancelled(JobOutcomeReason? reason, bool siloStopping, TimeSpan? timeout) => reason switch
    {
        _ when siloStopping => new(JobStatus.Failed, JobOutcome.Failed, "The job was interrupted: the silo running it stopped."),
        JobOutcomeReason.ClientDisconnected => new(JobStatus.Cancelled, JobOutcome.Disconnected, "The client disconnected."),
        JobOutcomeReason.CancelledByTenant => new(JobStatus.Cancelled, JobOutcome.Cancelled, "Cancelled by the tenant."),
        JobOutcomeReason.EndedWithRequest => new(JobStatus.Cancelled, JobOutcome.Cancelled, EndedWithRequestError, EndedWithRequest: true),
        _ => new(JobStatus.Failed, JobOutcome.TimedOut, $"The job did not finish within {timeout}."),
    };

    /// <summary>
    /// How a run on node <paramref name="nodeId"/> ended by its <paramref name="final"/> chunk (null when the stream ended
    /// without one), with <paramref name="completion"/> tokens over every run.
    /// </summary>
    public static JobEnding OfRun(GenerationFinal? final, string nodeId, int completion) => final switch
    {
        null => new(JobStatus.Failed, JobOutcome.Failed, $"Node '{nodeId}' ended the sequence without its usage."),
        { Refused: true } => new(JobStatus.Failed, JobOutcome.Failed, final.Error ?? $"Node '{nodeId}' refused the job.", Refused: true),
        { FinishReason: "stop" or "length" } => new(JobStatus.Succeeded, JobOutcome.Completed, null, final.FinishReason, completion),
        _ => new(JobStatus.Failed, JobOutcome.Failed, final.Error ?? $"The sequence ended as {final.FinishReason}.", null, completion),
    };

    /// <summary>
    /// How a job ends that failed before it was accepted (<paramref name="what"/> failed with <paramref name="e"/>). When
    /// the database or a silo was unreachable (the tenant's grain lived on a silo that just died, say) it is rejected, and
    /// the same request can be sent again shortly (HTTP 503 with Retry-After); otherwise it fails, as
    /// <see cref="Faulted"/> when the database refused it for a reason a retry does not fix (HTTP 500). Either way it
    /// settles for nothing, which releases a reservation the tenant may have made. The tenant reads the error: it never
    /// holds the exception's text (internal addresses, stack traces, SQL), which the caller logs.
    /// </summary>
    public static JobEnding NotAccepted(Exception e, string what)
    {
        ArgumentNullException.ThrowIfNull(e);
        var siloLost = EnqueueRetry.IsSiloLost(e);
        return !siloLost && !StorageUnavailableException.IsTransient(e)
            ? new(JobStatus.Failed, JobOutcome.Failed, $"{what}.", Faulted: DatabaseErrors.IsPermanent(e))
            : new(JobStatus.Rejected, JobOutcome.Failed,
                $"{what}: {(siloLost ? "a silo of the cluster is unavailable" : "storage is unavailable")}; retry shortly.");
    }

    /// <summary>
    /// The job <paramref name="info"/> once ended this way at <paramref name="finishedAt"/>, on <paramref name="nodeId"/>
    /// (null: the last node it ran on) with <paramref name="completionTokens"/> and the <paramref name="output"/> it keeps;
    /// its content expires at <paramref name="contentExpiresAt"/>. It is no longer in a queue. Its node's region is the
    /// one <paramref name="regions"/> (the regions of the nodes it was placed on) gives, else the one it had.
    /// </summary>
    public JobInfo Apply(
        JobInfo info, string? nodeId, DateTimeOffset finishedAt, DateTimeOffset? contentExpiresAt, int completionTokens, string? output,
        IReadOnlyDictionary<string, string?>? regions = null)
    {
        ArgumentNullException.ThrowIfNull(info);
        var node = nodeId ?? info.NodeId;
        return info with
        {
            Status = Status,
            NodeId = node,
            NodeRegion = node is not null && regions?.TryGetValue(node, out var region) == true ? region : info.NodeRegion,
            FinishedAt = finishedAt,
            ContentExpiresAt = contentExpiresAt,
            FinishReason = FinishReason,
            Error = Error,
            TimedOut = Outcome == JobOutcome.TimedOut,
            Faulted = Faulted,
            CompletionTokens = completionTokens,
            Output = output,
            QueuePosition = null,
            ExpectedWait = null,
        };
    }

    /// <summary>
    /// What the metrics record of the ended <paramref name="info"/>: its outcome and reason (<see cref="Codes"/>), its
    /// latencies, and the mean time between its output tokens after the first.
    /// </summary>
    public RequestEnd Metrics(JobInfo info, bool siloStopping)
    {
        var (outcome, reason) = Codes(info, siloStopping);
        var interToken = info is { CompletionTokens: > 1, FirstTokenAt: { } first, FinishedAt: { } last }
            ? (last - first) / (info.CompletionTokens - 1)
            : (TimeSpan?)null;
        return new RequestEnd(info.Model, outcome, reason, info.FinishedAt - info.SubmittedAt, info.FirstTokenAt - info.SubmittedAt, interToken);
    }

    /// <summary>The outcome of the ended <paramref name="info"/> and its reason as stable codes (see <c>RequestEnd</c>).</summary>
    public (string Outcome, string Reason) Codes(JobInfo info, bool siloStopping)
    {
        ArgumentNullException.ThrowIfNull(info);
        return info.Status switch
        {
            JobStatus.Succeeded => ("succeeded", FinishReason ?? "stop"),
            JobStatus.Cancelled => ("cancelled", Outcome == JobOutcome.Disconnected ? "client_disconnected" : EndedWithRequest ? "ended_with_request" : "tenant"),
            JobStatus.Rejected => ("rejected", info.SchedulingRejection?.ToCode() ?? info.Admission?.Rejection?.ToCode() ?? "error"),
            _ => ("failed", Outcome == JobOutcome.TimedOut ? "timed_out" : siloStopping ? "interrupted" : "error"),
        };
    }
}
