using System.Text;
using TokenGrid.Abstractions.Jobs;
using TokenGrid.Grains.Catalog;
using TokenGrid.Inference.Sampling;
using TokenGrid.Inference.Tokenizers;

namespace TokenGrid.Grains.Jobs;

/// <summary>
/// The text of a resumed run, decoded by the job itself. After a preemption the node's detokenizer starts afresh, so a
/// character split across the preemption (multi-byte UTF-8), or a token decoded in context, would come out wrong. This
/// detokenizer is first fed every token produced before the preemption (its output discarded: the client has it), so it
/// holds exactly what the first run's detokenizer held back, and the stream continues as if never interrupted. It decodes
/// as the node's engine does: an end-of-sequence token has no text (even when ignored), nor has a stop token id unless
/// the job includes stops in its output.
/// </summary>
/// <remarks>
/// For a job with stop sequences the resumed run's text also goes through the job's own
/// <see cref="StopSequenceMatcher"/>, primed with the text the earlier runs decoded but never released (a possible start
/// of a stop sequence, which the lost node was holding back): a stop sequence that straddles the interruption is still
/// found, and the client never sees part of one. As on the node, none ends within the text of the first min_tokens
/// tokens, and the chat template's stops never show whatever the job's include_stop_str_in_output says.
/// </remarks>
internal sealed class ResumeText
{
    private readonly StreamingDetokenizer _detokenizer;
    private readonly HashSet<int> _endOfSequence;
    private readonly bool _ignoreEndOfSequence;
    private readonly HashSet<int> _stopTokenIds;
    private readonly bool _includeStop;
    private readonly int _minTokens;

    // Tokens decoded so far, over every run; and how many leading characters of Primed the first min_tokens decoded to.
    private int _tokens;
    private readonly int _primedGuarded;

    private StopSequenceMatcher? _stops;

    private ResumeText(CatalogModel model, IEnumerable<int> produced, JobOutputOptions? output)
    {
        _detokenizer = new StreamingDetokenizer(model.Tokenizer, output?.SkipSpecialTokens == true);
        _endOfSequence = [.. model.Config.EosTokenIds];
        _ignoreEndOfSequence = output?.IgnoreEndOfSequence == true;
        _stopTokenIds = [.. output?.StopTokenIds ?? []];
        _includeStop = output?.IncludeStopSequence == true;
        _minTokens = output?.MinTokens ?? 0;
        (Primed, _primedGuarded) = Decode(produced);
    }

    /// <summary>The text <c>produced</c> decoded to while priming: what the earlier runs decoded, released or not.</summary>
    public string Primed { get; }

    /// <summary>True once the job's own matcher found a stop sequence: the run ends there, finished by "stop".</summary>
    public bool Stopped => _stops?.Stopped == true;

    /// <summary>
    /// A detokenizer primed with <paramref name="produced"/>, decoding as the node did for a job asking for
    /// <paramref name="output"/>; null when this silo does not know the model.
    /// </summary>
    public static ResumeText? Create(ModelCatalog catalog, string model, IEnumerable<int> produced, JobOutputOptions? output = null) =>
        catalog.TryGet(model, out var known) ? new ResumeText(known, produced, output) : null;

    /// <summary>
    /// Matches <paramref name="stops"/> (the request's, kept in the text when the job includes stops) and
    /// <paramref name="templateStops"/> (the chat template's, never kept) on this run's text from now on, starting from the
    /// <paramref name="emitted"/> characters of <see cref="Primed"/> the client already has; returns text that may be
    /// released at once.
    /// </summary>
    public string MatchStops(IReadOnlyList<string> stops, long emitted, IReadOnlyList<string>? templateStops = null)
    {
        _stops = new StopSequenceMatcher(stops, _includeStop, templateStops);
        var from = (int)Math.Min(emitted, Primed.Length);
        var guarded = Math.Max(from, _primedGuarded);
        return _stops.Push(Primed[from..guarded], canEnd: false) + _stops.Push(Primed[guarded..]);
    }

    /// <summary>
    /// The releasable text of <paramref name="tokens"/>: decoded, then through the stop matcher when there is one. With a
    /// matcher the tokens go through it one at a time, as the node's engine feeds its own, and the tokens after the one
    /// that completes a stop sequence are not taken: <paramref name="taken"/> is how many were (all of them without a
    /// stop), so the job counts and records exactly what an uninterrupted run would have produced.
    /// </summary>
    public string Release(IReadOnlyList<int> tokens, out int taken)
    {
        if (_stops is null)
        {
            taken = tokens.Count;
            return Decode(tokens).Text;
        }

        var released = new StringBuilder();
        for (taken = 0; taken < tokens.Count && !_stops.Stopped; taken++)
        {
            var (text, guarded) = Decode([tokens[taken]]);
            released.Append(_stops.Push(text[..guarded], canEnd: false)).Append(_stops.Push(text[guarded..]));
        }

        return released.ToString();
    }

    /// <summary>Everything still held back when the run ends without a stop (by length or end of sequence).</summary>
    public string ReleaseRest()
    {
        var rest = Flush();
        if (_stops is null)
        {
            return rest;
        }

        // What the detokenizer still held belongs to the last token, and can end a stop sequence when it could.
        var text = _stops.Push(rest, canEnd: _tokens > _minTokens);
        return _stops.Stopped ? text : text + _stops.Flush();
    }

    /// <summary>The text a stream of <paramref name="tokens"/> carried so far, or "" when this silo does not know the model.</summary>
    public static string Decode(ModelCatalog catalog, string model, IEnumerable<int> tokens, JobOutputOptions? output = null) =>
        catalog.TryGet(model, out var known) ? new ResumeText(known, tokens, output).Primed : "";

    /// <summary>
    /// True when <paramref name="token"/> ends the sequence as the node's engine sees it: an end-of-sequence token (unless
    /// the job ignores end-of-sequence) or one of the job's stop token ids.
    /// </summary>
    public bool EndsSequence(int token) =>
        (!_ignoreEndOfSequence && _endOfSequence.Contains(token)) || _stopTokenIds.Contains(token);

    /// <summary>Whatever is still held back when the run ends.</summary>
    public string Flush() => _detokenizer.Flush();

    /// <summary>
    /// The text <paramref name="tokens"/> complete, and how many of its leading characters came from tokens within the
    /// job's first min_tokens (where no stop sequence may end).
    /// </summary>
    private (string Text, int Guarded) Decode(IEnumerable<int> tokens)
    {
        var text = new StringBuilder();
        var guarded = 0;
        foreach (var token in tokens)
        {
            _tokens++;
            if (!_endOfSequence.Contains(token) && (_includeStop || !_stopTokenIds.Contains(token)))
            {
                text.Append(_detokenizer.Append(token));
            }

            if (_tokens <= _minTokens)
            {
                guarded = text.Length;
            }
        }

        return (text.ToString(), guarded);
    }
}
