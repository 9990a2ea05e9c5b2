using System.Collections.Concurrent;

namespace TokenGrid.Grains.Tests.Support;

/// <summary>
/// Holds the node stream of chosen jobs mid-run: a silo filter that parks the job grain's reads of its node's stream
/// (<c>MoveNext</c> calls) until released. The job is then running and idle from Orleans' point of view (it makes a
/// call, it receives none), which is the case that only its keep-alive protects from collection.
/// </summary>
public sealed class HeldRuns : IOutgoingGrainCallFilter
{
    private readonly ConcurrentDictionary<GrainId, Gate> _held = new();

    /// <summary>Parks the job's next read of its node stream, and every one after, until <see cref="Release"/>.</summary>
    public void Hold(GrainId job) => _held.TryAdd(job, new Gate());

    /// <summary>Whether a read of the job's node stream is parked now.</summary>
    public bool IsParked(GrainId job) => _held.TryGetValue(job, out var gate) && Volatile.Read(ref gate.Parked) > 0;

    /// <summary>Lets the job's stream go on.</summary>
    public void Release(GrainId job)
    {
        if (_held.TryRemove(job, out var gate))
        {
            gate.Open.TrySetResult();
        }
    }

    /// <inheritdoc />
    public async Task Invoke(IOutgoingGrainCallContext context)
    {
        if (context.SourceId is { } source && _held.TryGetValue(source, out var gate) && context.MethodName.StartsWith("MoveNext", StringComparison.Ordinal))
        {
            Interlocked.Increment(ref gate.Parked);
            await gate.Open.Task;
            Interlocked.Decrement(ref gate.Parked);
        }

        await context.Invoke();
    }

    private sealed class Gate
    {
        public readonly TaskCompletionSource Open = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public int Parked;
    }
}
