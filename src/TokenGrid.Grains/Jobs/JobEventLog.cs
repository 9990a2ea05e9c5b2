using System.Runtime.CompilerServices;
using TokenGrid.Abstractions.Jobs;

namespace TokenGrid.Grains.Jobs;

/// <summary>
/// The event log of one job activation, in order: every status change and every chunk of text, with sequences that stay
/// valid across reactivations (<see cref="JobEventSequence"/>). After a reactivation it starts with one event holding the
/// text streamed before (<see cref="Restore"/>). Watchers read it from any position: text they already have is cut off,
/// and the final event reaches every watcher, even one past it. A watcher that also says how many tokens it has keeps
/// the log probabilities of every token it lacks, however the activation that produces them again cuts its events. Not
/// thread-safe: the job grain's scheduler is its lock.
/// </summary>
public sealed class JobEventLog
{
    private readonly List<JobEvent> _events = [];

    // Tokens produced up to and including each event of _events, counting earlier activations.
    private readonly List<long> _tokensThrough = [];

    // Tokens produced before this activation's first event, when it restored none (a checkpoint without text).
    private long _restoredTokens;
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
    /// event, which ends the enumeration. Cancelling <paramref name="cancellationToken"/> ends only this watch. An event
    /// cut for the watcher carries no tokens and no log probabilities: without <see cref="WatchAsync(long, long, CancellationToken)"/>'s
    /// token count, the log cannot tell which of its tokens the watcher has.
    /// </summary>
    public IAsyncEnumerable<JobEvent> WatchAsync(long afterSequence, CancellationToken cancellationToken = default) =>
        WatchAsync(afterSequence, -1, cancellationToken);

    /// <summary>
    /// The events after <paramref name="afterSequence"/> for a watcher that has received <paramref name="afterTokens"/>
    /// tokens (negative: unknown, as in <see cref="WatchAsync(long, CancellationToken)"/>). Text is cut by characters and
    /// tokens by count, so the watcher is sent exactly the tokens, and their log probabilities, that it lacks: an event
    /// it is in the middle of keeps those of its tokens past the watcher, and tokens whose text the watcher already has
    /// (an activation that resumed behind it decodes them again, and may hold back their text differently) come with
    /// the next event sent, or on their own before the final one.
    /// </summary>
    public async IAsyncEnumerable<JobEvent> WatchAsync(long afterSequence, long afterTokens, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var next = afterTokens < 0 ? FirstAfter(afterSequence) : Math.Min(FirstAfter(afterSequence), FirstWithTokensAfter(afterTokens));
        var lacking = new Lacking(afterTokens);
        while (true)
        {
            while (next < _events.Count)
            {
                var at = next++;
                var e = _events[at];
                if (e.Sequence <= afterSequence)
                {
                    // This activation is behind the watcher (it resumed from a checkpoint older than what the watcher
                    // saw) and produces that text again: the watcher has it, but perhaps not all of its tokens. A final
                    // event here is sent below.
                    lacking.Add(e, _tokensThrough[at]);
                    continue;
                }

                if (IsFinal(e) && lacking.Take(Math.Min(afterSequence + 1, e.Sequence)) is { } pending)
                {
                    yield return pending;
                }

                yield return lacking.Into(From(e, afterSequence), e, _tokensThrough[at]);
                if (IsFinal(e))
                {
                    yield break;
                }
            }

            if (_events.Count > 0 && IsFinal(_events[^1]))
            {
                // The watcher is past the final event (text regenerated after a failover can come out shorter than what
                // it saw): the end is still news to it.
                var sequence = afterSequence + 1;
                if (lacking.Take(sequence) is { } pending)
                {
                    yield return pending;
                    sequence++;
                }

                yield return _events[^1] with { Sequence = sequence };
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
            _tokensThrough.Add(tokens);
            LastSequence = Math.Max(LastSequence, sequence);
        }

        _restoredTokens = tokens;

        LastSequence = Math.Max(LastSequence, lastSequence);
    }

    /// <summary>
    /// Starts the log of a new activation of <paramref name="job"/>, which had finished, from what it kept: its output as
    /// one event (see <see cref="Restore"/>), then its final status at the saved <paramref name="lastSequence"/>.
    /// </summary>
    public void RestoreFinished(JobInfo job, TokenLogprob[]? logprobs, long lastSequence)
    {
        ArgumentNullException.ThrowIfNull(job);
        Restore(job.Output, job.CompletionTokens, logprobs);
        AppendStatus(job, lastSequence);
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
        var tokens = _tokensThrough.Count > 0 ? _tokensThrough[^1] : 0;
        _events.Clear();
        _tokensThrough.Clear();
        if (final is not null)
        {
            _events.Add(final with { Job = job });
            _tokensThrough.Add(tokens);
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

    /// <summary>Index of the first event through which more than <paramref name="tokens"/> tokens were produced.</summary>
    private int FirstWithTokensAfter(long tokens)
    {
        int low = 0, high = _tokensThrough.Count;
        while (low < high)
        {
            var mid = (low + high) / 2;
            if (_tokensThrough[mid] <= tokens)
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

    /// <summary>
    /// The tokens a watcher that counts them lacks from events whose text it already has, held until the next tokens
    /// event sent to it (or sent on their own before the final one), with their log probabilities when every one has
    /// them.
    /// </summary>
    private sealed class Lacking(long afterTokens)
    {
        private int _tokens;
        private List<TokenLogprob>? _logprobs = [];

        /// <summary>Holds the tokens of <paramref name="e"/>, produced through <paramref name="tokensThrough"/>, that the watcher lacks.</summary>
        public void Add(JobEvent e, long tokensThrough)
        {
            if (LackedOf(e, tokensThrough) is var lacked and > 0)
            {
                _tokens += lacked;
                _logprobs = e.Logprobs is { } logprobs && _logprobs is { } held ? [.. held, .. logprobs.AsSpan(e.Tokens - lacked)] : null;
            }
        }

        /// <summary>
        /// <paramref name="cut"/>, the watcher's view of <paramref name="e"/>, carrying the tokens it lacks: those held,
        /// then those of <paramref name="e"/> past it.
        /// </summary>
        public JobEvent Into(JobEvent cut, JobEvent e, long tokensThrough)
        {
            if (afterTokens < 0 || e.Kind != JobEventKind.Tokens)
            {
                return cut;
            }

            var lacked = LackedOf(e, tokensThrough);
            if (_tokens == 0 && lacked == e.Tokens)
            {
                // The common case, an event wholly past the watcher: as it is, with no copy (this runs once per chunk).
                return ReferenceEquals(cut, e) ? e : cut with { Tokens = e.Tokens, Logprobs = e.Logprobs };
            }

            var logprobs = lacked == 0 ? _logprobs
                : e.Logprobs is { } own && _logprobs is { } held ? [.. held, .. own.AsSpan(e.Tokens - lacked)] : null;
            var tokens = _tokens + lacked;
            (_tokens, _logprobs) = (0, []);
            return cut with { Tokens = tokens, Logprobs = logprobs is { Count: > 0 } && logprobs.Count == tokens ? [.. logprobs] : null };
        }

        /// <summary>The tokens held, as an event of their own with <paramref name="sequence"/> and no text; null when none are.</summary>
        public JobEvent? Take(long sequence)
        {
            if (_tokens == 0)
            {
                return null;
            }

            var pending = new JobEvent(sequence, JobEventKind.Tokens, "", _tokens, null, _logprobs is { Count: > 0 } held && held.Count == _tokens ? [.. held] : null);
            (_tokens, _logprobs) = (0, []);
            return pending;
        }

        private int LackedOf(JobEvent e, long tokensThrough) =>
            afterTokens < 0 || e.Kind != JobEventKind.Tokens ? 0 : (int)Math.Clamp(tokensThrough - afterTokens, 0, e.Tokens);
    }

    private static bool IsFinal(JobEvent e) => e is { Kind: JobEventKind.Status, Job.IsFinished: true };

    private void Append(JobEventKind kind, string? text, int tokens, JobInfo? job, long sequence = 0, TokenLogprob[]? logprobs = null)
    {
        EmittedChars += text?.Length ?? 0;
        LastSequence = Math.Max(sequence, JobEventSequence.Next(LastSequence, EmittedChars));
        _events.Add(new JobEvent(LastSequence, kind, text, tokens, job, logprobs));
        _tokensThrough.Add((_tokensThrough.Count > 0 ? _tokensThrough[^1] : _restoredTokens) + tokens);
        var appended = _appended;
        _appended = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        appended.TrySetResult();
    }
}
