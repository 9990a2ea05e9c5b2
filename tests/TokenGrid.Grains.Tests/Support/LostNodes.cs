using System.Collections;
using System.Collections.Concurrent;
using TokenGrid.Abstractions.Nodes;

namespace TokenGrid.Grains.Tests.Support;

/// <summary>
/// Plays the loss of a job's node mid-run, as a killed silo does: a silo filter that lets each run of the chosen job read
/// its node stream once (so it has tokens), then breaks its next read with <see cref="SiloUnavailableException"/>, as
/// many times as asked. The job sees its stream break and resumes by recomputation on the next node it is given. Or, for
/// <see cref="LoseBeforeTheEnd"/>, breaks the stream once between the run's last token and its ending.
/// </summary>
public sealed class LostNodes : IOutgoingGrainCallFilter
{
    private readonly ConcurrentDictionary<GrainId, Losses> _jobs = new();
    private readonly ConcurrentDictionary<GrainId, Losses> _beforeEnd = new();

    /// <summary>Breaks the node stream of <paramref name="job"/> in each of its next <paramref name="times"/> runs.</summary>
    public void Lose(GrainId job, int times) => _jobs[job] = new Losses { Left = times };

    /// <summary>
    /// Loses the node of <paramref name="job"/> once, right after it received its run's last token and before the run's
    /// ending: the read that would deliver the final chunk delivers the tokens before it, if any, and the next read breaks.
    /// </summary>
    public void LoseBeforeTheEnd(GrainId job) => _beforeEnd[job] = new Losses { Left = 1 };

    /// <summary>How many of the losses asked for <paramref name="job"/> are still to come.</summary>
    public int LossesLeft(GrainId job) =>
        (_jobs.TryGetValue(job, out var losses) ? Volatile.Read(ref losses.Left) : 0)
        + (_beforeEnd.TryGetValue(job, out var beforeEnd) ? Volatile.Read(ref beforeEnd.Left) : 0);

    /// <inheritdoc />
    public Task Invoke(IOutgoingGrainCallContext context)
    {
        if (context.SourceId is { } cut && _beforeEnd.TryGetValue(cut, out var beforeEnd) && Volatile.Read(ref beforeEnd.Left) > 0
            && context.MethodName is { } method && (method.StartsWith("MoveNext", StringComparison.Ordinal) || method.StartsWith("StartEnumeration", StringComparison.Ordinal)))
        {
            return CutBeforeTheEndAsync(context, beforeEnd);
        }

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

    private static async Task CutBeforeTheEndAsync(IOutgoingGrainCallContext context, Losses losses)
    {
        if (losses.ReadThisRun)
        {
            // The read after the one that held back the ending.
            losses.Left = 0;
            throw new SiloUnavailableException("The node's silo died before the run's ending (played by the test).");
        }

        await context.Invoke();
        List<GenerationChunk> chunks = context.Result is ValueTuple<EnumerationResult, object> read ? read.Item2 switch
        {
            GenerationChunk one => [one],
            IEnumerable batch => [.. batch.OfType<GenerationChunk>()],
            _ => [],
        } : [];
        var end = chunks.FindIndex(c => c.Final is not null);
        if (end < 0)
        {
            return;
        }

        if (end == 0)
        {
            losses.Left = 0;
            throw new SiloUnavailableException("The node's silo died before the run's ending (played by the test).");
        }

        // Deliver the tokens before the ending, as a batch that does not end the enumeration; break the next read.
        losses.ReadThisRun = true;
        context.Result = (EnumerationResult.Batch, (object)chunks.Take(end).ToList());
    }

    private sealed class Losses
    {
        public int Left;
        public bool ReadThisRun;
    }
}
