using System.Runtime.CompilerServices;
using TokenGrid.Abstractions.Jobs;

namespace TokenGrid.Grains.Jobs;

/// <summary>
/// The event log of one job activation, in order: every status change and every chunk of text, with sequences that stay
/// valid across reactivations (<see cref="JobEventSequence"/>). After a reactivation it starts with one event holding the
/// text streamed before (<see cref="Restore"/>). Watchers read it from any position: text they already have is cut off,
/// and the final event reaches every watcher, even one past it. Not thread-safe: the job grain's scheduler is its lock.
/// </summary>
public sealed class JobEventLog
{
    private readonly List<JobEvent> _events = [];
    private TaskCompletionSource _appended = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Sequence of the last event, counting earlier activations.</summary>
    public long LastSequence { get; private set; }

    /// <summary>Characters of text streamed, counting earlier activations.</summary>
    public long EmittedChars { get; private set; }

    /// <summary>Whether the log holds no event (a new activation, before anything was restored or appended).</summary>
    public bool IsEmpty => _events.Count == 0;

    /// <summary>The sequence the final event gets: after every event so far.</summary>
    public long FinalSequence => JobEventSequence.Next(LastSequence, EmittedChars);

    /// <summary>
    /// The events after <paramref name="afterSequence"/>, as that watcher sees them, waiting for new ones until the final
    /// event, which ends the enumeration. Cancelling <paramref name="cancellationToken"/> ends only this watch.
    /// </summary>
    public async IAsyncEnumerable<JobEvent> WatchAsync(long afterSequence, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
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

    /// <summary>
    /// Starts the log of a new activation with the text streamed before, as one event, with the saved log probabilities
    /// when they cover its tokens; <paramref name="lastSequence"/> is the saved sequence, kept when it is ahead.
    /// </summary>
    public void Restore(string? text, int tokens, TokenLogprob[]? logprobs, long lastSequence = 0)
    {
        if (!string.IsNullOrEmpty(text))
        {
            EmittedChars = text.Length;
            var sequence = JobEventSequence.Of(text.Length, 0);
            var whole = logprobs is { Length: > 0 } && logprobs.Length == tokens ? logprobs : null;
            _events.Add(new JobEvent(sequence, JobEventKind.Tokens, text, tokens, null, whole));
            LastSequence = Math.Max(LastSequence, sequence);
        }

        LastSequence = Math.Max(LastSequence, lastSequence);
    }

    /// <summary>Appends a status event; <paramref name="sequence"/> restores a saved one when it is still ahead.</summary>
    public void AppendStatus(JobInfo info, long sequence = 0) => Append(JobEventKind.Status, null, 0, info, sequence);

    /// <summary>Appends text with its tokens and, when the job asked for them, their log probabilities.</summary>
    public void AppendTokens(string text, int tokens, TokenLogprob[]? logprobs) => Append(JobEventKind.Tokens, text, tokens, null, logprobs: logprobs);

    /// <summary>
    /// Forgets the content: only the final status stays (with <paramref name="job"/>, the content-free job), so a watcher
    /// still reading ends at it.
    /// </summary>
    public void Erase(JobInfo? job)
    {
        var final = _events.Count > 0 && IsFinal(_events[^1]) ? _events[^1] : null;
        _events.Clear();
        if (final is not null)
        {
            _events.Add(final with { Job = job });
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

    /// <summary>
    /// The event as a watcher after <paramref name="afterSequence"/> sees it: text it already has is cut off, on a
    /// character boundary. A position between the two halves of a surrogate pair (a client-made <c>Last-Event-ID</c>, or
    /// text regenerated differently after a failover) keeps the whole character: half of one would be sent as U+FFFD.
    /// </summary>
    private static JobEvent From(JobEvent e, long afterSequence)
    {
        if (e is not { Kind: JobEventKind.Tokens, Text: { Length: > 0 } text })
        {
            return e;
        }

        var seen = JobEventSequence.CharsOf(afterSequence);
        var start = JobEventSequence.CharsOf(e.Sequence) - text.Length;
        if (seen <= start)
        {
            return e;
        }

        var cut = (int)Math.Min(text.Length, seen - start);
        if (cut < text.Length && char.IsLowSurrogate(text[cut]) && char.IsHighSurrogate(text[cut - 1]))
        {
            cut--;
        }

        return e with { Text = text[cut..], Tokens = 0, Logprobs = null };
    }

    private static bool IsFinal(JobEvent e) => e is { Kind: JobEventKind.Status, Job.IsFinished: true };

    private void Append(JobEventKind kind, string? text, int tokens, JobInfo? job, long sequence = 0, TokenLogprob[]? logprobs = null)
    {
        EmittedChars += text?.Length ?? 0;
        LastSequence = Math.Max(sequence, JobEventSequence.Next(LastSequence, EmittedChars));
        _events.Add(new JobEvent(LastSequence, kind, text, tokens, job, logprobs));
        var appended = _appended;
        _appended = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        appended.TrySetResult();
    }
}
