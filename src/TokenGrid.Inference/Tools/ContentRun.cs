using System.Text;

namespace TokenGrid.Inference.Tools;

/// <summary>
/// The content text of a streamed answer, one run (the text between two calls) at a time. White space that touches
/// a call is dropped: at the start of a run after a call it is dropped at once; at the end of a run it is held until
/// the next text shows whether a call follows. A Llama 3 <c>;</c> after a call is held the same way.
/// </summary>
internal sealed class ContentRun
{
    private readonly StringBuilder _released = new();
    private readonly StringBuilder _pending = new();

    /// <summary>The run has text other than held white space (and separator).</summary>
    public bool Started { get; private set; }

    /// <summary>The run follows a call.</summary>
    public bool AfterCall { get; private set; }

    /// <summary>A separator is held in this run.</summary>
    public bool SeparatorSeen { get; private set; }

    /// <summary>Adds one character of content.</summary>
    public void Add(char c)
    {
        if (char.IsWhiteSpace(c))
        {
            if (Started || !AfterCall || _pending.Length > 0)
            {
                _pending.Append(c);
            }

            return;
        }

        Started = true;
        _released.Append(_pending).Append(c);
        _pending.Clear();
    }

    /// <summary>Holds a separator between calls; it becomes content if content follows it.</summary>
    public void HoldSeparator(char c)
    {
        SeparatorSeen = true;
        _pending.Append(c);
    }

    /// <summary>A call ends the run: held white space touched it and is dropped; a new run starts after it.</summary>
    public void EndAtCall()
    {
        _pending.Clear();
        (Started, AfterCall, SeparatorSeen) = (false, true, false);
    }

    /// <summary>The output ended: held text is content unless the run is only white space after a call.</summary>
    public void Finish()
    {
        if (Started || !AfterCall)
        {
            _released.Append(_pending);
        }

        _pending.Clear();
    }

    /// <summary>The content released since the last call of this method, or null when there is none.</summary>
    public string? Take()
    {
        if (_released.Length == 0)
        {
            return null;
        }

        var text = _released.ToString();
        _released.Clear();
        return text;
    }
}
