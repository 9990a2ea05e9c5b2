using System.Runtime.CompilerServices;
using TokenGrid.Abstractions.Jobs;

namespace TokenGrid.Grains.Jobs;

public sealed partial class JobGrain
{
    // The event log of this activation: every status change and every chunk of text, in order.
    private readonly List<JobEvent> _events = [];
    private TaskCompletionSource _appended = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <inheritdoc />
    // Orleans cancels the token given to GetAsyncEnumerator when the watcher disposes its enumeration; that ends
    // only the watch, never the job.
    public IAsyncEnumerable<JobEvent> WatchAsync(long afterSequence) => WatchCoreAsync(afterSequence, CancellationToken.None);

    private async IAsyncEnumerable<JobEvent> WatchCoreAsync(long afterSequence, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (Info is null)
        {
            yield break;
        }

        if (_events.Count == 0 && Info.IsFinished)
        {
            // A new activation of a finished job: its log is gone, so replay what was kept.
            foreach (var replayed in Replay(Info, afterSequence))
            {
                yield return replayed;
            }

            yield break;
        }

        var next = (int)Math.Clamp(afterSequence, 0, int.MaxValue);
        while (true)
        {
            while (next < _events.Count)
            {
                var e = _events[next++];
                yield return e;
                if (IsFinal(e))
                {
                    yield break;
                }
            }

            if (_events.Count > 0 && IsFinal(_events[^1]))
            {
                // The watcher asked for events after the final one: there are none.
                yield break;
            }

            await _appended.Task.WaitAsync(cancellationToken);
        }
    }

    /// <summary>
    /// The stored output as one Tokens event (sequence 1), then the final status; the status comes after
    /// <paramref name="afterSequence"/> so that a watcher resuming from an earlier activation still sees the end.
    /// </summary>
    private static IEnumerable<JobEvent> Replay(JobInfo info, long afterSequence)
    {
        if (afterSequence < 1 && !string.IsNullOrEmpty(info.Output))
        {
            yield return new JobEvent(1, JobEventKind.Tokens, info.Output, info.CompletionTokens, null);
        }

        yield return new JobEvent(Math.Max(afterSequence + 1, 2), JobEventKind.Status, null, 0, info);
    }

    private static bool IsFinal(JobEvent e) => e is { Kind: JobEventKind.Status, Job.IsFinished: true };

    private void AppendStatus(JobInfo info) => Append(JobEventKind.Status, null, 0, info);

    private void AppendTokens(string text, int tokens) => Append(JobEventKind.Tokens, text, tokens, null);

    private void Append(JobEventKind kind, string? text, int tokens, JobInfo? job)
    {
        _events.Add(new JobEvent(_events.Count + 1, kind, text, tokens, job));
        var appended = _appended;
        _appended = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        appended.TrySetResult();
    }
}
