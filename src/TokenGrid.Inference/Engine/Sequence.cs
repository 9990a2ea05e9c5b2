using System.Text;
using System.Threading.Channels;
using TokenGrid.Inference.Sampling;
using TokenGrid.Inference.Tokenizers;

namespace TokenGrid.Inference.Engine;

/// <summary>One sequence's state inside the engine. Touched only by the decode thread, except the cancel flag.</summary>
internal sealed class Sequence
{
    private readonly Channel<GeneratedToken> _tokens = Channel.CreateUnbounded<GeneratedToken>(
        new UnboundedChannelOptions { SingleWriter = true, SingleReader = true });
    private readonly TaskCompletionSource<GenerationResult> _result = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly StringBuilder _text = new();
    private readonly StreamingDetokenizer _detokenizer;
    private readonly StopSequenceMatcher _stop;
    private readonly TimeProvider _time;
    private readonly IReadOnlySet<int> _eos;
    private readonly HashSet<int>? _stopIds;
    private readonly bool _includeStop;

    /// <summary>Tokens of this run whose text no stop sequence may end in: min_tokens less the resumed output.</summary>
    private readonly int _guardedTokens;
    private readonly Func<Constraints.TokenConstraint>? _startConstraint;
    private ConstraintTrigger? _trigger;

    /// <summary>Starts the watch for the constraint's trigger again once a value is complete; null when the output ends with its value.</summary>
    private readonly Func<ConstraintTrigger>? _rearm;
    private readonly long _submitted;
    private long _firstToken;
    private readonly List<int>? _output;
    private volatile bool _cancelRequested;

    public Sequence(GenerationRequest request, int maxNewTokens, ModelTokenizer tokenizer, IReadOnlySet<int> eos, TimeProvider time, Constraints.TokenVocabulary? vocabulary = null, int prefixBlockTokens = 0)
    {
        Prompt = [.. request.PromptTokens];
        if (prefixBlockTokens > 0 && request.PrefixCacheScope is { } scope)
        {
            PrefixScope = scope;
            PrefixBlocks = Prefix.PrefixHashes.Compute(scope, Prompt, prefixBlockTokens);
            _output = [];
        }

        MaxNewTokens = maxNewTokens;
        IgnoreEos = request.IgnoreEndOfSequence;
        TopLogprobs = request.TopLogprobs;
        ForkKey = request.ForkKey;
        _eos = eos;
        _stopIds = request.StopTokenIds.Count > 0 ? [.. request.StopTokenIds] : null;
        IEnumerable<int> ends = IgnoreEos ? [] : eos;
        Sampler = new TokenSampler(request.Sampling, Prompt, request.ResumedOutputTokens, ends.Concat(request.StopTokenIds), request.MinTokens);
        _detokenizer = new StreamingDetokenizer(tokenizer, request.SkipSpecialTokens);
        _includeStop = request.IncludeStopSequenceInOutput;
        _guardedTokens = request.MinTokens - request.ResumedOutputTokens;
        _stop = new StopSequenceMatcher(request.StopSequences, _includeStop, request.TemplateStopSequences);
        _time = time;
        _submitted = time.GetTimestamp();
        Stream = new GenerationStream(_tokens.Reader, _result.Task, Prompt.Length, maxNewTokens);
        if (request.Constraint is { } grammar && vocabulary is not null)
        {
            var constraintEnds = ends.Concat(request.StopTokenIds).ToArray();
            _startConstraint = () => new Constraints.TokenConstraint(grammar, vocabulary, constraintEnds);
            if (request.ConstraintTrigger is { Length: > 0 } trigger)
            {
                var text = Encoding.UTF8.GetBytes(trigger);
                _trigger = new ConstraintTrigger(text, tokenizer);
                _rearm = request.ConstraintRepeats ? () => new ConstraintTrigger(text, tokenizer) : null;
            }
            else
            {
                Constraint = _startConstraint();
            }

            var complete = false;
            for (var i = Prompt.Length - request.ResumedOutputTokens; i < Prompt.Length; i++)
            {
                complete = Observe(Prompt[i]);
            }

            EndedBeforeResuming = complete;
        }
    }

    /// <summary>
    /// The request's output constraint, following the tokens generated so far; null without one, and, with a trigger,
    /// until the trigger has appeared. Set on the decode thread between steps.
    /// </summary>
    public Constraints.TokenConstraint? Constraint { get; private set; }

    public int[] Prompt { get; }

    /// <summary>
    /// True when the output it resumes from already completes its constraint's value, so nothing may follow: the run it
    /// resumes ended there, and was cut off only before its ending arrived.
    /// </summary>
    public bool EndedBeforeResuming { get; }

    /// <summary>The keys of the prompt's full blocks in its prefix cache scope; null when it does not use the cache.</summary>
    public Prefix.PrefixBlockHash[]? PrefixBlocks { get; }

    /// <summary>The prefix cache scope; null when the sequence does not use the cache.</summary>
    public string? PrefixScope { get; }

    /// <summary>The tokens generated so far, kept only for a sequence that uses the prefix cache.</summary>
    public IReadOnlyList<int>? Output => _output;

    /// <summary>
    /// Called when the sequence ends, before anything of its end can be seen (its stream completing, its result): the
    /// engine's occupancy then never counts a sequence whose caller already has its result. Set when the engine takes it.
    /// </summary>
    public Action? Ending { get; set; }

    /// <summary>
    /// Leading prompt positions whose keys and values came from the prefix cache (a whole number of blocks). Its stream
    /// carries it from then on (<see cref="GenerationStream.CachedPromptTokens"/>).
    /// </summary>
    public int CachedTokens
    {
        get;
        set
        {
            field = value;
            Stream.MarkCached(value);
        }
    }

    public int MaxNewTokens { get; }

    /// <summary>The most key/value positions the sequence may hold: its prompt and every token it may generate.</summary>
    public int KvReach => Prompt.Length + MaxNewTokens;

    public bool IgnoreEos { get; }

    public TokenSampler Sampler { get; }

    /// <summary>Alternatives to report with each token's log probability; null when the request asked for none.</summary>
    public int? TopLogprobs { get; }

    /// <summary>The request's <see cref="GenerationRequest.ForkKey"/>: siblings with the same key and prompt share the prompt's cache.</summary>
    public string? ForkKey { get; }

    /// <summary>
    /// With a fork key, once the prompt is in the cache: the logits at the last prompt position, from which a sibling that
    /// forks later samples its first token (shared by every sibling of the fork, never written after).
    /// </summary>
    public float[]? PromptLogits { get; set; }

    /// <summary>While joining the running batch by a fork: the running sibling whose prompt rows it copies.</summary>
    public Sequence? ForkedFrom { get; set; }

    /// <summary>Whether <paramref name="other"/> may fork from this sequence's prompt: same key, same prompt.</summary>
    public bool SharesPromptWith(Sequence other) =>
        ForkKey is not null && string.Equals(ForkKey, other.ForkKey, StringComparison.Ordinal) && Prompt.AsSpan().SequenceEqual(other.Prompt);

    /// <summary>The next token, chosen by a sampling worker before <see cref="Accept"/> takes it on the decode thread.</summary>
    public int PendingToken { get; set; }

    /// <summary>Log probabilities of <see cref="PendingToken"/>, when asked for.</summary>
    public TokenLogprobs? PendingLogprobs { get; set; }

    public GenerationStream Stream { get; }

    public CancellationTokenRegistration Registration { get; set; }

    /// <summary>Node in the admission queue while queued.</summary>
    public LinkedListNode<Sequence>? QueueNode { get; set; }

    /// <summary>Positions of this sequence held in the cache.</summary>
    public int KvLength { get; set; }

    /// <summary>The latest sampled token, not yet in the cache: the next decode step's input.</summary>
    public int LastToken { get; private set; }

    public int Generated { get; private set; }

    public bool Finished { get; private set; }

    public bool CancelRequested => _cancelRequested;

    public void RequestCancel() => _cancelRequested = true;

    /// <summary>Takes a sampled token: streams its text, and finishes the sequence when it ends it.</summary>
    public void Accept(int token, TokenLogprobs? logprobs, long timestamp)
    {
        Generated++;
        LastToken = token;
        _output?.Add(token);
        if (Generated == 1)
        {
            _firstToken = timestamp;
        }

        var isEos = _eos.Contains(token);
        var ends = (!IgnoreEos && isEos) || (_stopIds is not null && _stopIds.Contains(token));
        var complete = Observe(token);
        // The end-of-sequence token never has text, even when ignored; a stop token id's shows only when included
        // (vLLM's include_stop_str_in_output). No stop sequence ends the output within the first min_tokens' text.
        var canEnd = Generated > _guardedTokens;
        var text = isEos || (ends && !_includeStop) ? "" : _stop.Push(_detokenizer.Append(token), canEnd);
        FinishReason? reason = ends || complete || _stop.Stopped ? FinishReason.Stop
            : Generated >= MaxNewTokens ? FinishReason.Length
            : null;
        if (reason is not null && !_stop.Stopped)
        {
            text += _stop.Push(_detokenizer.Flush(), canEnd);
            text += _stop.Flush();
            reason = _stop.Stopped ? FinishReason.Stop : reason;
        }

        _text.Append(text);
        _tokens.Writer.TryWrite(new GeneratedToken(token, text, logprobs));
        if (reason is { } r)
        {
            Finish(r, null, timestamp);
        }
    }

    /// <summary>
    /// Follows a generated token: into the constraint, or, before its trigger, into the trigger's watch. Returns whether
    /// the token completed a value that ends the output; a value that completes with a repeating trigger frees the
    /// output instead, and the trigger is watched for again.
    /// </summary>
    private bool Observe(int token)
    {
        if (Constraint is { } constraint)
        {
            constraint.Advance(token);
        }
        else if (_trigger?.Find(token) is { } after)
        {
            Constraint = _startConstraint!();
            Constraint.Advance(after);
            _trigger = null;
        }
        else
        {
            return false;
        }

        if (!Constraint.IsComplete)
        {
            return false;
        }

        if (_rearm is null)
        {
            return true;
        }

        Constraint = null;
        _trigger = _rearm();
        return false;
    }

    public void Finish(FinishReason reason, string? error, long timestamp)
    {
        if (Finished)
        {
            return;
        }

        Finished = true;
        Ending?.Invoke();
        Registration.Unregister();
        _tokens.Writer.TryComplete();
        var ttft = Generated > 0 ? _time.GetElapsedTime(_submitted, _firstToken) : (TimeSpan?)null;
        _result.TrySetResult(new GenerationResult(
            reason, Prompt.Length, Generated, _text.ToString(), error, ttft, _time.GetElapsedTime(_submitted, timestamp), Stream.CachedPromptTokens));
    }
}

/// <summary>Watches a sequence's output bytes for the text that starts its constraint.</summary>
internal sealed class ConstraintTrigger(byte[] text, ModelTokenizer tokenizer)
{
    private readonly List<byte> _window = [];

    /// <summary>Takes a token; once the text has appeared, the bytes of this token that follow it (otherwise null).</summary>
    public byte[]? Find(int token)
    {
        _window.AddRange(tokenizer.TokenBytes(token));
        var at = _window.ToArray().AsSpan().IndexOf(text);
        if (at >= 0)
        {
            return [.. _window.Skip(at + text.Length)];
        }

        // Keep only what could still be the start of the text.
        var keep = Math.Min(_window.Count, text.Length - 1);
        _window.RemoveRange(0, _window.Count - keep);
        return null;
    }
}
