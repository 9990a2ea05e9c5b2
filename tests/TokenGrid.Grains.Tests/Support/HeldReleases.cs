using System.Collections.Concurrent;
using TokenGrid.Abstractions.Scheduling;

namespace TokenGrid.Grains.Tests.Support;

/// <summary>
/// Parks a chosen job's release of its dispatcher slot (<see cref="IModelDispatcherGrain.ReleaseAsync"/>) as the
/// dispatcher receives it, on any silo of the test cluster, until the test lets it through; and, as an outgoing filter,
/// sees when the call returned to the job (let through, or timed out).
/// </summary>
public sealed class HeldReleases : IIncomingGrainCallFilter, IOutgoingGrainCallFilter
{
    private readonly ConcurrentDictionary<string, Gate> _held = new();

    /// <summary>Parks the job's release until <see cref="Let"/>; <see cref="ArrivedAsync"/> says when it came.</summary>
    public void Hold(string jobId) => _held.TryAdd(jobId, new Gate());

    /// <summary>Completes when the dispatcher has received the held job's release (and parked it).</summary>
    public Task ArrivedAsync(string jobId) => _held[jobId].Arrived.Task;

    /// <summary>Whether the held job's release call has returned to the job.</summary>
    public bool HasReturned(string jobId) => _held[jobId].Returned.Task.IsCompleted;

    /// <summary>Lets the held release reach the dispatcher.</summary>
    public void Let(string jobId)
    {
        if (_held.TryGetValue(jobId, out var gate))
        {
            gate.Open.TrySetResult();
        }
    }

    /// <inheritdoc />
    public async Task Invoke(IIncomingGrainCallContext context)
    {
        if (Held(context) is { } gate)
        {
            gate.Arrived.TrySetResult();
            await gate.Open.Task;
        }

        await context.Invoke();
    }

    /// <inheritdoc />
    public async Task Invoke(IOutgoingGrainCallContext context)
    {
        var gate = Held(context);
        try
        {
            await context.Invoke();
        }
        finally
        {
            gate?.Returned.TrySetResult();
        }
    }

    private Gate? Held(IGrainCallContext context) =>
        context.InterfaceMethod?.Name == nameof(IModelDispatcherGrain.ReleaseAsync)
        && context.Request.GetArgument(0) is string jobId && _held.TryGetValue(jobId, out var gate) ? gate : null;

    private sealed class Gate
    {
        public readonly TaskCompletionSource Arrived = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public readonly TaskCompletionSource Open = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public readonly TaskCompletionSource Returned = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
