namespace TokenGrid.Inference.Sampling;

/// <summary>
/// Finds stop sequences in streamed text. Text that could still be the start of a stop sequence is
/// held back, so a client never receives part of a stop sequence and the output excludes it, unless
/// <paramref name="includeStop"/> keeps the matched stop sequence (vLLM's <c>include_stop_str_in_output</c>).
/// </summary>
public sealed class StopSequenceMatcher(IReadOnlyList<string> stops, bool includeStop = false)
{
    private readonly string[] _stops = [.. stops.Where(s => s.Length > 0)];
    private string _pending = "";

    /// <summary>True once a stop sequence was seen.</summary>
    public bool Stopped { get; private set; }

    /// <summary>Adds text; returns what may be released now.</summary>
    public string Push(string text)
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
        var first = -1;
        var end = -1;
        foreach (var stop in _stops)
        {
            var at = buffer.IndexOf(stop, StringComparison.Ordinal);
            if (at >= 0 && (first < 0 || at < first || (at == first && at + stop.Length < end)))
            {
                first = at;
                end = at + stop.Length;
            }
        }

        if (first >= 0)
        {
            Stopped = true;
            _pending = "";
            return buffer[..(includeStop ? end : first)];
        }

        var hold = LongestSuffixThatStartsAStop(buffer);
        _pending = buffer[^hold..];
        return buffer[..^hold];
    }

    /// <summary>Releases held text at the end of the sequence (no stop sequence can complete any more).</summary>
    public string Flush()
    {
        var rest = Stopped ? "" : _pending;
        _pending = "";
        return rest;
    }

    private int LongestSuffixThatStartsAStop(string buffer)
    {
        var best = 0;
        foreach (var stop in _stops)
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
