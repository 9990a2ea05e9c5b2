using Orleans.Concurrency;

namespace TokenGrid.Abstractions.Scheduling;

/// <summary>
/// The queue and placement of one model (key: model name). Admitted jobs enqueue here; when a slot is free on a node
/// the job may use, the dispatcher picks the next job (priority class with aging, then token-weighted fair queueing
/// across tenants) and calls it back with the node. Jobs release their slot when they end or are preempted.
/// </summary>
/// <remarks>
/// One activation per model, so placement scales with the number of models and never funnels through one grain for
/// the whole cluster. No call here waits for generation: every answer is immediate, dispatch is a one-way callback.
/// </remarks>
public interface IModelDispatcherGrain : IGrainWithStringKey
{
    /// <summary>
    /// Queues the job, or refuses it when the tenant's or the model's queue is full or no known node may ever run it.
    /// The job may be dispatched (through <c>IJobGrain.StartOnNodeAsync</c>) before this call returns.
    /// </summary>
    Task<EnqueueResult> EnqueueAsync(DispatchRequest request);

    /// <summary>
    /// Releases whatever the dispatcher holds for the job: its place in the queue, or its slot on
    /// <paramref name="nodeId"/> (null when it never ran). <paramref name="tokensGenerated"/> corrects the tenant's fair
    /// share from the expected cost to the real one. Idempotent.
    /// </summary>
    Task ReleaseAsync(string jobId, string? nodeId, int tokensGenerated);

    /// <summary>
    /// A job running on <paramref name="nodeId"/> that this dispatcher does not know (its previous activation died with
    /// its silo) claims its slot, so the node is not given more jobs than it decodes at once. Ignored when the job is
    /// known or the node is gone. Idempotent.
    /// </summary>
    Task AdoptAsync(DispatchRequest request, string nodeId);

    /// <summary>
    /// A job could not reach <paramref name="nodeId"/>: its caller's silo sees no active silo hosting it (the silo died,
    /// and this dispatcher's view of membership has not caught up yet). The node gets no more jobs until it reports again
    /// (a report newer than the one the dispatcher holds), or membership removes it.
    /// </summary>
    Task NodeUnreachableAsync(string nodeId);

    /// <summary>The job's place in the queue (1 = next) and expected wait, or null when it is not queued here.</summary>
    [ReadOnly]
    Task<QueuePosition?> GetPositionAsync(string jobId);

    /// <summary>Queue, slots and per-tenant service of this model now.</summary>
    [ReadOnly]
    Task<DispatcherSnapshot> GetSnapshotAsync();

    /// <summary>
    /// Demand per node label: for each <c>key=value</c> some waiting job requires, the tokens (prompt + max tokens) of
    /// the waiting jobs that may only run on nodes carrying it.
    /// </summary>
    [ReadOnly]
    Task<IReadOnlyDictionary<string, long>> GetDemandByLabelAsync();

    /// <summary>Reloads the nodes' reports from the registry now (after a drain, in tests), then dispatches.</summary>
    Task RefreshAsync();

    /// <summary>The queue, running jobs per node and drain rate, for the capacity view.</summary>
    [ReadOnly]
    Task<Capacity.DispatcherLoad> GetLoadAsync();
}
