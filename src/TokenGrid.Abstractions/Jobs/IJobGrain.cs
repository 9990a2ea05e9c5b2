using Orleans.Concurrency;

namespace TokenGrid.Abstractions.Jobs;

/// <summary>
/// One request's lifecycle (key: job id). Submission asks the tenant to admit it, then runs it on a node
/// in the background; watchers read its events; its end settles the tenant's reservation exactly once.
/// </summary>
public interface IJobGrain : IGrainWithStringKey
{
    /// <summary>Admits and starts the job. Returns at once with the job (Rejected, or Queued/Running).</summary>
    Task<JobInfo> SubmitAsync(JobSpec spec);

    /// <summary>The job, or null when there is no such job.</summary>
    [ReadOnly, AlwaysInterleave]
    Task<JobInfo?> GetAsync();

    /// <summary>Cancels the job if it has not ended; returns the job.</summary>
    [AlwaysInterleave]
    Task<JobInfo?> CancelAsync(JobOutcomeReason reason);

    /// <summary>
    /// Deletes the job's content now (prompt, output, token ids, log probabilities), keeping its content-free record; a
    /// job that has not ended is cancelled first (and settles as cancelled). Returns the record, or null when there is no
    /// such job. Deleting again changes nothing.
    /// </summary>
    [AlwaysInterleave]
    Task<JobInfo?> DeleteContentAsync(JobContentDeletionReason reason);

    /// <summary>
    /// Events after <paramref name="afterSequence"/>, then live ones until the job ends. The last event is the
    /// final status. Text of async jobs is replayed from the stored output as one event.
    /// </summary>
    [AlwaysInterleave]
    IAsyncEnumerable<JobEvent> WatchAsync(long afterSequence);

    /// <summary>
    /// <see cref="WatchAsync(long)"/> for a watcher that has received <paramref name="afterTokens"/> tokens: it is sent
    /// exactly the tokens it lacks, with their log probabilities, even where an activation that resumed behind it cuts
    /// its events otherwise. An event cut for a watcher that does not say (the other overload) carries none.
    /// </summary>
    [AlwaysInterleave]
    IAsyncEnumerable<JobEvent> WatchAsync(long afterSequence, long afterTokens);

    /// <summary>
    /// The dispatcher of <paramref name="model"/> placed the job on <paramref name="nodeId"/>, whose <c>region</c>
    /// label is <paramref name="region"/> (null: none): the job starts (or resumes) generating there. One-way, so the
    /// dispatcher never waits on a job. A job that is not waiting (unknown, or ending) gives the slot straight back.
    /// </summary>
    [OneWay]
    Task StartOnNodeAsync(string nodeId, string model, string? region = null);

    /// <summary>
    /// Makes sure the job is progressing after a silo failure. Called one-way by the tenant's recovery reminder for its
    /// open jobs and by a dispatcher whose node was lost. A job whose grain died with its silo reactivates (from its last
    /// checkpoint) and resumes by recomputation; a waiting job whose dispatcher died queues again; a running one tells a
    /// new dispatcher which slot it holds; a job admitted by <paramref name="tenantId"/> but never saved is settled for 0
    /// tokens and fails, and so is one that ended refused at its own admission while the tenant still holds a reservation
    /// for it. A healthy job ignores the call.
    /// </summary>
    [OneWay]
    Task RecoverAsync(string tenantId, string model);

    /// <summary>
    /// The dispatcher needs the job's slot for higher-priority work: the job stops its node stream (freeing the slot
    /// and its KV cache), re-queues itself to resume from its prompt plus the tokens produced so far, and its stream
    /// continues when it runs again. One-way; ignored when the job is not generating.
    /// </summary>
    [OneWay]
    Task PreemptAsync();

    /// <summary>
    /// The dispatcher of <paramref name="model"/> took the waiting job out of its queue: no node of the cluster has served
    /// the model for the grace (<c>TokenGrid:Scheduling:UnservedModelGrace</c>). The job ends failed with
    /// <paramref name="message"/>, charged for what it produced. One-way; ignored when the job is not waiting for a node.
    /// </summary>
    [OneWay]
    Task NoNodeServesAsync(string model, string message);
}

/// <summary>Why a job is cancelled.</summary>
public enum JobOutcomeReason
{
    /// <summary>The tenant asked.</summary>
    CancelledByTenant,

    /// <summary>The streaming client went away.</summary>
    ClientDisconnected,

    /// <summary>
    /// The server ended the job with its request: another choice of the same <c>n</c> &gt; 1 request was refused or
    /// failed, so no reply will read this one.
    /// </summary>
    EndedWithRequest,
}
