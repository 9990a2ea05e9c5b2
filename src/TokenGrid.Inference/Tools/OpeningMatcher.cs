using System.Text;

namespace TokenGrid.Inference.Tools;

/// <summary>
/// Holds content text that may be the start of a call's opening (<c>&lt;tool_call&gt;</c>, …) until the next
/// characters show whether it is, and releases what can no longer be.
/// </summary>
internal sealed class OpeningMatcher(string opening)
{
    private readonly StringBuilder _held = new();

    /// <summary>Some text is held.</summary>
    public bool Holding => _held.Length > 0;

    /// <summary>
    /// Adds <paramref name="c"/> to the held text and releases, from its start, every character that can no longer
    /// begin the opening (all of them once <paramref name="allowed"/> says no call may start). True when the held text
    /// is the whole opening, which is then consumed.
    /// </summary>
    public bool Add(char c, Func<bool> allowed, Action<char> release)
    {
        _held.Append(c);
        while (_held.Length > 0 && !(allowed() && IsPrefix()))
        {
            var first = _held[0];
            _held.Remove(0, 1);
            release(first);
        }

        if (_held.Length < opening.Length)
        {
            return false;
        }

        _held.Clear();
        return true;
    }

    /// <summary>Releases all held text (the output ended).</summary>
    public void Flush(Action<char> release)
    {
        foreach (var c in _held.ToString())
        {
            release(c);
        }

        _held.Clear();
    }

    /// <summary>Whether <paramref name="text"/> ends with <paramref name="suffix"/>.</summary>
    public static bool EndsWith(StringBuilder text, string suffix)
    {
        if (text.Length < suffix.Length)
        {
            return false;
        }

        for (var i = 1; i <= suffix.Length; i++)
        {
            if (text[^i] != suffix[^i])
            {
                return false;
            }
        }

        return true;
    }

    private bool IsPrefix()
    {
        if (_held.Length > opening.Length)
        {
            return false;
        }

        for (var i = 0; i < _held.Length; i++)
        {
            if (_held[i] != opening[i])
            {
                return false;
            }
        }

        return true;
    }
}
