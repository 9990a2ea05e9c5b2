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
/// holds exactly what the first run's detokenizer held back, and the stream continues as if never interrupted.
/// </summary>
/// <remarks>
/// For a job with stop sequences the resumed run's text also goes through the job's own
/// <see cref="StopSequenceMatcher"/>, primed with the text the earlier runs decoded but never released (a possible start
/// of a stop sequence, which the lost node was holding back): a stop sequence that straddles the interruption is still
/// found, and the client never sees part of one.
/// </remarks>
internal sealed class ResumeText
{
    private readonly StreamingDetokenizer _detokenizer;
    private readonly HashSet<int> _endOfSequence;

    private StopSequenceMatcher? _stops;
    private IReadOnlyList<string> _stopSequences = [];
    private bool _includeStop;

    // What went into the matcher and how much of it came out: the rest, once stopped, starts with the stop sequence.
    private readonly StringBuilder _pushed = new();
    private int _released;

    private ResumeText(CatalogModel model, IEnumerable<int> produced, JobOutputOptions? output)
    {
        _detokenizer = new StreamingDetokenizer(model.Tokenizer, output?.SkipSpecialTokens == true);
        // As the node's engine does: an end-of-sequence token ends the text without any of its own, unless the job
        // ignores end-of-sequence, where it is an ordinary token whose text is streamed like any other.
        _endOfSequence = output?.IgnoreEndOfSequence == true ? [] : [.. model.Config.EosTokenIds];
        Primed = Append(produced);
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
    /// Matches <paramref name="stops"/> on this run's text from now on, starting from the <paramref name="emitted"/>
    /// characters of <see cref="Primed"/> the client already has; returns text that may be released at once. With
    /// <paramref name="includeStop"/> (vLLM's <c>include_stop_str_in_output</c>) a matched stop sequence is released too.
    /// </summary>
    public string MatchStops(IReadOnlyList<string> stops, long emitted, bool includeStop = false)
    {
        _stops = new StopSequenceMatcher(stops);
        _stopSequences = stops;
        _includeStop = includeStop;
        return Push(Primed[(int)Math.Min(emitted, Primed.Length)..]);
    }

    /// <summary>The releasable text of <paramref name="tokens"/>: decoded, then through the stop matcher when there is one.</summary>
    public string Release(IEnumerable<int> tokens)
    {
        var text = Append(tokens);
        return _stops is null ? text : Push(text);
    }

    private string Push(string text)
    {
        var wasStopped = _stops!.Stopped;
        _pushed.Append(text);
        var released = _stops.Push(text);
        _released += released.Length;
        if (!wasStopped && _stops.Stopped && _includeStop)
        {
            var rest = _pushed.ToString(_released, _pushed.Length - _released);
            var stop = _stopSequences.Where(s => s.Length > 0 && rest.StartsWith(s, StringComparison.Ordinal)).DefaultIfEmpty("").First();
            released += stop;
        }

        return released;
    }

    /// <summary>Everything still held back when the run ends without a stop (by length or end of sequence).</summary>
    public string ReleaseRest()
    {
        var rest = Flush();
        if (_stops is null)
        {
            return rest;
        }

        var text = Push(rest);
        return _stops.Stopped ? text : text + _stops.Flush();
    }

    /// <summary>The text a stream of <paramref name="tokens"/> carried so far, or "" when this silo does not know the model.</summary>
    public static string Decode(ModelCatalog catalog, string model, IEnumerable<int> tokens, JobOutputOptions? output = null) =>
        catalog.TryGet(model, out var known) ? new ResumeText(known, [], output).Append(tokens) : "";

    /// <summary>The text <paramref name="tokens"/> complete (an end-of-sequence token has none unless it is ignored, as on the node).</summary>
    public string Append(IEnumerable<int> tokens)
    {
        var text = new StringBuilder();
        foreach (var token in tokens)
        {
            if (!_endOfSequence.Contains(token))
            {
                text.Append(_detokenizer.Append(token));
            }
        }

        return text.ToString();
    }

    /// <summary>
    /// True when <paramref name="token"/> ends the sequence as the node's engine sees it: an end-of-sequence token (unless
    /// the job ignores end-of-sequence) or one of the job's <paramref name="stopTokenIds"/>.
    /// </summary>
    public bool EndsSequence(int token, IReadOnlyCollection<int>? stopTokenIds) =>
        _endOfSequence.Contains(token) || stopTokenIds?.Contains(token) == true;

    /// <summary>Whatever is still held back when the run ends.</summary>
    public string Flush() => _detokenizer.Flush();
}
