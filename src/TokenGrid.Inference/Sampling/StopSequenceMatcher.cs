namespace TokenGrid.Inference.Sampling;

/// <summary>
/// Finds stop sequences in streamed text. Text that could still be the start of a stop sequence is held back, so a client
/// never receives part of one. The output ends before the earliest match (the shortest of those starting there), unless
/// the match is one of the caller's <c>stops</c> and <c>includeStop</c> keeps it (vLLM's <c>include_stop_str_in_output</c>).
/// <c>templateStops</c>, a chat template's turn delimiters, are never kept: they are not the caller's to ask for. A string
/// in both lists is the caller's.
/// </summary>
public sealed class StopSequenceMatcher
{
    private readonly (string Text, bool Keep)[] _stops;
    private string _pending = "";

    // How many leading characters of _pending no stop sequence may end in (text of the first min_tokens tokens).
    private int _guarded;

    /// <summary>Matches <paramref name="stops"/> and <paramref name="templateStops"/>; empty strings are left out.</summary>
    public StopSequenceMatcher(IReadOnlyList<string> stops, bool includeStop = false, IReadOnlyList<string>? templateStops = null)
    {
        ArgumentNullException.ThrowIfNull(stops);
        var caller = stops.Where(s => s.Length > 0).ToHashSet(StringComparer.Ordinal);
        var template = (templateStops ?? []).Where(s => s.Length > 0 && !caller.Contains(s)).Distinct(StringComparer.Ordinal);
        _stops = [.. caller.Select(s => (s, includeStop)), .. template.Select(s => (s, false))];
    }

    /// <summary>True once a stop sequence was seen.</summary>
    public bool Stopped { get; private set; }

    /// <summary>
    /// Adds text; returns what may be released now. With <paramref name="canEnd"/> false (the text of the first
    /// min_tokens tokens) no stop sequence may end within <paramref name="text"/>, as vLLM checks no stop condition before
    /// min_tokens: one that ends there is ordinary text, while one that starts there and ends in later text still counts.
    /// </summary>
    public string Push(string text, bool canEnd = true)
    {
        if (Stopped)
        {
            return "";
        }

        if (_stops.Length == 0)
        {
            return text;
        }

        var buffer = _pending + text;
        var guarded = canEnd ? _guarded : buffer.Length;
        var first = -1;
        var end = -1;
        var keep = false;
        foreach (var (stop, keepStop) in _stops)
        {
            // Only a match that ends after the guarded text.
            var at = buffer.IndexOf(stop, Math.Max(0, guarded - stop.Length + 1), StringComparison.Ordinal);
            if (at >= 0 && (first < 0 || at < first || (at == first && at + stop.Length < end)))
            {
                (first, end, keep) = (at, at + stop.Length, keepStop);
            }
        }

        if (first >= 0)
        {
            Stopped = true;
            _pending = "";
            _guarded = 0;
            return buffer[..(keep ? end : first)];
        }

        var hold = LongestSuffixThatStartsAStop(buffer);
        _pending = buffer[^hold..];
        _guarded = Math.Max(0, guarded - (buffer.Length - hold));
        return buffer[..^hold];
    }

    /// <summary>Releases held text at the end of the sequence (no stop sequence can complete any more).</summary>
    public string Flush()
    {
        var rest = Stopped ? "" : _pending;
        _pending = "";
        _guarded = 0;
        return rest;
    }

    private int LongestSuffixThatStartsAStop(string buffer)
    {
        var best = 0;
        foreach (var (stop, _) in _stops)
        {
            for (var len = Math.Min(stop.Length - 1, buffer.Length); len > best; len--)
            {
                if (buffer.AsSpan(buffer.Length - len).SequenceEqual(stop.AsSpan(0, len)))
                {
                    best = len;
                    break;
                }
            }
        }

        return best;
    }
}
