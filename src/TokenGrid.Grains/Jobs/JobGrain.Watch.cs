using System.Runtime.CompilerServices;
using TokenGrid.Abstractions.Jobs;

namespace TokenGrid.Grains.Jobs;

public sealed partial class JobGrain
{
    // The event log of this activation, in order: every status change and every chunk of text. After a reactivation it
    // starts with one event holding the text streamed before (kept output, or rebuilt from the checkpoint's tokens).
    private readonly List<JobEvent> _events = [];
    private TaskCompletionSource _appended = new(TaskCreationOptions.RunContinuationsAsynchronously);

    // Sequence of the last event and characters of text streamed, counting earlier activations (see JobEventSequence).
    private long _lastSequence;
    private long _emittedChars;

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

        ForgetContentIfExpired();

        if (_events.Count == 0 && Info.IsFinished)
        {
            // A new activation of a finished job: its log is gone, so rebuild it from what was kept.
            RestoreLog(Info.Output, Info.CompletionTokens, state.State.Logprobs);
            AppendStatus(Info, state.State.LastSequence);
        }

        var next = FirstAfter(afterSequence);
        while (true)
        {
            while (next < _events.Count)
            {
                var e = _events[next++];
                if (e.Sequence <= afterSequence)
                {
                    // This activation is behind the watcher (it resumed from a checkpoint older than what the watcher
                    // saw) and produces that text again: the watcher has it. A final event here is sent below.
                    continue;
                }

                yield return From(e, afterSequence);
                if (IsFinal(e))
                {
                    yield break;
                }
            }

            if (_events.Count > 0 && IsFinal(_events[^1]))
            {
                // The watcher is past the final event (text regenerated after a failover can come out shorter than what
                // it saw): the end is still news to it.
                yield return _events[^1] with { Sequence = afterSequence + 1 };
                yield break;
            }

            await _appended.Task.WaitAsync(cancellationToken);
        }
    }

    /// <summary>Index of the first event with a sequence above <paramref name="afterSequence"/>.</summary>
    private int FirstAfter(long afterSequence)
    {
        int low = 0, high = _events.Count;
        while (low < high)
        {
            var mid = (low + high) / 2;
            if (_events[mid].Sequence <= afterSequence)
            {
                low = mid + 1;
            }
            else
            {
                high = mid;
            }
        }

        return low;
    }

    /// <summary>The event as a watcher after <paramref name="afterSequence"/> sees it: text it already has is cut off.</summary>
    private static JobEvent From(JobEvent e, long afterSequence)
    {
        if (e is not { Kind: JobEventKind.Tokens, Text: { Length: > 0 } text })
        {
            return e;
        }

        var seen = JobEventSequence.CharsOf(afterSequence);
        var start = JobEventSequence.CharsOf(e.Sequence) - text.Length;
        return seen > start ? e with { Text = text[(int)Math.Min(text.Length, seen - start)..], Tokens = 0, Logprobs = null } : e;
    }

    /// <summary>
    /// Starts the log of a new activation with the text streamed before, as one event, with the saved log probabilities
    /// when they cover its tokens.
    /// </summary>
    private void RestoreLog(string? text, int tokens, TokenLogprob[]? logprobs)
    {
        if (!string.IsNullOrEmpty(text))
        {
            _emittedChars = text.Length;
            var sequence = JobEventSequence.Of(text.Length, 0);
            var whole = logprobs is { Length: > 0 } && logprobs.Length == tokens ? logprobs : null;
            _events.Add(new JobEvent(sequence, JobEventKind.Tokens, text, tokens, null, whole));
            _lastSequence = Math.Max(_lastSequence, sequence);
        }
    }

    private static bool IsFinal(JobEvent e) => e is { Kind: JobEventKind.Status, Job.IsFinished: true };

    /// <summary>Appends a status event; <paramref name="sequence"/> restores a saved one when it is still ahead.</summary>
    private void AppendStatus(JobInfo info, long sequence = 0) => Append(JobEventKind.Status, null, 0, info, sequence);

    private void AppendTokens(string text, int tokens, TokenLogprob[]? logprobs) => Append(JobEventKind.Tokens, text, tokens, null, logprobs: logprobs);

    private void Append(JobEventKind kind, string? text, int tokens, JobInfo? job, long sequence = 0, TokenLogprob[]? logprobs = null)
    {
        _emittedChars += text?.Length ?? 0;
        _lastSequence = Math.Max(sequence, JobEventSequence.Next(_lastSequence, _emittedChars));
        _events.Add(new JobEvent(_lastSequence, kind, text, tokens, job, logprobs));
        var appended = _appended;
        _appended = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        appended.TrySetResult();
    }
}
