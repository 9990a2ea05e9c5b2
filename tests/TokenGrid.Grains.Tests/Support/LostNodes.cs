using System.Collections.Concurrent;

namespace TokenGrid.Grains.Tests.Support;

/// <summary>
/// Plays the loss of a job's node mid-run, as a killed silo does: a silo filter that lets each run of the chosen job read
/// its node stream once (so it has tokens), then breaks its next read with <see cref="SiloUnavailableException"/>, as
/// many times as asked. The job sees its stream break and resumes by recomputation on the next node it is given.
/// </summary>
public sealed class LostNodes : IOutgoingGrainCallFilter
{
    private readonly ConcurrentDictionary<GrainId, Losses> _jobs = new();

    /// <summary>Breaks the node stream of <paramref name="job"/> in each of its next <paramref name="times"/> runs.</summary>
    public void Lose(GrainId job, int times) => _jobs[job] = new Losses { Left = times };

    /// <summary>How many of the losses asked for <paramref name="job"/> are still to come.</summary>
    public int LossesLeft(GrainId job) => _jobs.TryGetValue(job, out var losses) ? Volatile.Read(ref losses.Left) : 0;

    /// <inheritdoc />
    public Task Invoke(IOutgoingGrainCallContext context)
    {
        if (context.SourceId is { } source && _jobs.TryGetValue(source, out var losses)
            && context.MethodName.StartsWith("MoveNext", StringComparison.Ordinal))
        {
            lock (losses)
            {
                if (losses.Left > 0 && !(losses.ReadThisRun = !losses.ReadThisRun))
                {
                    losses.Left--;
                    throw new SiloUnavailableException("The node's silo died (played by the test).");
                }
            }
        }

        return context.Invoke();
    }

    private sealed class Losses
    {
        public int Left;
        public bool ReadThisRun;
    }
}
