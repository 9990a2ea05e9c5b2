using System.Collections.Concurrent;
using TokenGrid.Abstractions.Tenants;

namespace TokenGrid.Grains.Tests.Support;

/// <summary>
/// Tells a test when an admission has reached its tenant grain. Calls sent together may arrive in any order, so a test
/// that needs admissions queued behind a held save waits for each to arrive.
/// </summary>
public sealed class AdmissionArrivals : IIncomingGrainCallFilter
{
    private readonly ConcurrentDictionary<(string TenantId, string JobId), TaskCompletionSource> _waiting = new();

    /// <summary>
    /// Completes when the next admission of <paramref name="jobId"/> reaches tenant <paramref name="tenantId"/>; by
    /// then the grain has queued its step (the grain queues it in the turn the call starts in, before any await). Call
    /// it before sending the admission.
    /// </summary>
    public Task NextAsync(string tenantId, string jobId)
    {
        var arrival = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_waiting.TryAdd((tenantId, jobId), arrival))
        {
            throw new InvalidOperationException($"Already waiting for an admission of '{jobId}' to tenant '{tenantId}'.");
        }

        return arrival.Task;
    }

    /// <inheritdoc/>
    public Task Invoke(IIncomingGrainCallContext context)
    {
        if (context.Grain is ITenantGrain
            && context.MethodName == nameof(ITenantGrain.AdmitAsync)
            && context.Request.GetArgument(0) is AdmissionRequest request
            && _waiting.TryRemove((context.TargetId.Key.ToString(), request.JobId), out var arrival))
        {
            arrival.TrySetResult();
        }

        return context.Invoke();
    }
}
