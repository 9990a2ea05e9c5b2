using System.Text;

namespace TokenGrid.Inference.Tools;

/// <summary>
/// Reads a model's output as it is generated and turns it into OpenAI-shaped deltas: content text and tool calls.
/// Any split of the same text into pieces gives the same calls and the same content (concatenated), which is also what
/// <see cref="ToolCallParser.Parse"/> gives. Not thread-safe: one instance per answer.
/// <para>
/// Rules, after vLLM's hermes, llama3_json, mistral and deepseek_v3 parsers:
/// <list type="bullet">
/// <item>A call block starts at the syntax's opening (<see cref="ToolCallFormats.Opening"/>); Hermes, Mistral and
/// DeepSeek blocks may follow content text. Llama 3 and plain JSON calls must start the output (after white space;
/// in Llama 3 also right after a call, optionally after <c>;</c>); once other text is seen, the rest is content.</item>
/// <item>A block ends at its closing tag (Hermes, DeepSeek) or where its JSON value ends (Mistral, Llama 3, plain JSON).
/// Its calls are released whole (a start and one arguments piece each) once the block has ended and parsed, so a
/// call is never sent and then taken back; vLLM streams arguments piece by piece instead, and can send a call that
/// turns out broken.</item>
/// <item>A block that does not parse (invalid JSON, no name, arguments not an object) is content, word for word.</item>
/// <item>At the end of the output, a Hermes or DeepSeek block without its closing tag is still read (as vLLM's
/// Hermes parser does, and as DeepSeek V3's own template writes a single call); any other unfinished block is
/// content.</item>
/// <item>Content is the text outside calls, except white space that touches a call (the newlines templates put
/// between content and calls) and Llama 3's <c>;</c> separators. Trailing white space is held until more text shows
/// whether a call follows. Without any call the content is the output, unchanged.</item>
/// </list>
/// </para>
/// Hand-rolled: no .NET library reads these model formats (vLLM's parsers are Python); System.Text.Json reads the JSON.
/// </summary>
public sealed class ToolCallStream
{
    private enum Mode { Content, AwaitJson, Json, Tagged, Finished }

    private readonly ToolCallSyntax _syntax;
    private readonly string? _opening;
    private readonly string? _closing;
    private readonly bool _anchored;
    private readonly List<ToolCallDelta> _deltas = [];
    private readonly ContentRun _run = new();
    private readonly StringBuilder _held = new();
    private readonly StringBuilder _block = new();
    private Mode _mode;
    private int _calls;

    // The JSON value being read: where it starts in _block, its nesting depth, and the string state.
    private int _jsonStart;
    private int _depth;
    private bool _inString;
    private bool _escape;

    /// <summary>A stream for one answer in <paramref name="syntax"/>.</summary>
    public ToolCallStream(ToolCallSyntax syntax)
    {
        _syntax = syntax;
        _opening = ToolCallFormats.Opening(syntax);
        _closing = ToolCallFormats.Closing(syntax);
        _anchored = syntax is ToolCallSyntax.Llama3Json or ToolCallSyntax.PlainJson;
    }

    /// <summary>
    /// Reads the next piece of output. Content is released as soon as it cannot be the start of a call (an opening,
    /// or in Llama 3 and plain JSON a leading JSON value) and is not white space that may turn out to touch a call.
    /// </summary>
    /// <exception cref="InvalidOperationException">The stream has finished.</exception>
    public IReadOnlyList<ToolCallDelta> Push(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        ThrowIfFinished();
        foreach (var c in text)
        {
            Step(c);
        }

        return Drain();
    }

    /// <summary>
    /// Ends the output: reads an unclosed Hermes or DeepSeek block, turns any other unfinished block into content, and
    /// releases held text (white space after the last call is dropped).
    /// </summary>
    /// <exception cref="InvalidOperationException">The stream has already finished.</exception>
    public IReadOnlyList<ToolCallDelta> Finish()
    {
        ThrowIfFinished();
        if (_mode == Mode.Tagged)
        {
            Complete(ParseTagged(_block.ToString(_opening!.Length, _block.Length - _opening.Length)));
        }
        else if (_mode is Mode.AwaitJson or Mode.Json)
        {
            Fail();
        }

        foreach (var c in _held.ToString())
        {
            _run.Add(c);
        }

        _held.Clear();
        _run.Finish();
        _mode = Mode.Finished;
        return Drain();
    }

    private void Step(char c)
    {
        switch (_mode)
        {
            case Mode.Content:
                ContentChar(c);
                break;
            case Mode.AwaitJson when char.IsWhiteSpace(c):
                _block.Append(c);
                break;
            case Mode.AwaitJson when c == '{' || (c == '[' && _syntax == ToolCallSyntax.Mistral):
                StartJson(c);
                break;
            case Mode.AwaitJson:
                Fail();
                ContentChar(c);
                break;
            case Mode.Json:
                JsonChar(c);
                break;
            case Mode.Tagged:
                _block.Append(c);
                if (EndsWith(_block, _closing!))
                {
                    var length = _block.Length - _opening!.Length - _closing!.Length;
                    Complete(ParseTagged(_block.ToString(_opening.Length, length)));
                }

                break;
        }
    }

    private void ContentChar(char c)
    {
        if (_held.Length > 0 || (BlocksAllowed && _opening is not null && c == _opening[0]))
        {
            _held.Append(c);
            while (_held.Length > 0 && !(BlocksAllowed && IsPrefix(_held, _opening!)))
            {
                var first = _held[0];
                _held.Remove(0, 1);
                _run.Add(first);
            }

            if (_held.Length == _opening!.Length)
            {
                _held.Clear();
                _block.Clear().Append(_opening);
                _mode = _closing is null ? Mode.AwaitJson : Mode.Tagged;
            }

            return;
        }

        if (_anchored && BlocksAllowed)
        {
            if (c == ';' && _syntax == ToolCallSyntax.Llama3Json && _run.AfterCall && !_run.SeparatorSeen)
            {
                _run.HoldSeparator(c);
                return;
            }

            if (c == '{' || (c == '[' && _syntax == ToolCallSyntax.PlainJson))
            {
                _block.Clear();
                StartJson(c);
                return;
            }
        }

        _run.Add(c);
    }

    private void StartJson(char c)
    {
        _jsonStart = _block.Length;
        _block.Append(c);
        (_depth, _inString, _escape, _mode) = (1, false, false, Mode.Json);
    }

    // Finds where the JSON value ends by its brackets, outside strings; whether it is valid JSON is decided then.
    private void JsonChar(char c)
    {
        _block.Append(c);
        if (_inString)
        {
            (_escape, _inString) = _escape ? (false, true) : (c == '\\', c != '"');
        }
        else if (c == '"')
        {
            _inString = true;
        }
        else if (c is '{' or '[')
        {
            _depth++;
        }
        else if (c is '}' or ']' && --_depth == 0)
        {
            var json = _block.ToString(_jsonStart, _block.Length - _jsonStart);
            Complete(ToolCallBodies.Json(json, allowArray: _syntax != ToolCallSyntax.Llama3Json));
        }
    }

    private IReadOnlyList<ParsedToolCall>? ParseTagged(string body) =>
        _syntax == ToolCallSyntax.DeepSeekV3 ? ToolCallBodies.DeepSeek(body) : ToolCallBodies.Json(body, allowArray: false);

    private void Complete(IReadOnlyList<ParsedToolCall>? calls)
    {
        if (calls is null)
        {
            Fail();
            return;
        }

        _run.EndAtCall();
        FlushContent();
        foreach (var call in calls)
        {
            _deltas.Add(new ToolCallStartDelta(_calls, call.Name));
            _deltas.Add(new ToolCallArgumentsDelta(_calls, call.ArgumentsJson));
            _calls++;
        }

        _block.Clear();
        _mode = Mode.Content;
    }

    // A block that is not a call is content, word for word.
    private void Fail()
    {
        var raw = _block.ToString();
        _block.Clear();
        _mode = Mode.Content;
        foreach (var c in raw)
        {
            _run.Add(c);
        }
    }

    private ToolCallDelta[] Drain()
    {
        FlushContent();
        var deltas = _deltas.ToArray();
        _deltas.Clear();
        return deltas;
    }

    private void FlushContent()
    {
        if (_run.Take() is { } text)
        {
            _deltas.Add(new ContentDelta(text));
        }
    }

    // Hermes, Mistral and DeepSeek calls may start anywhere in content. Llama 3 and plain JSON calls only start a run
    // that has no text yet: the output's first, or (Llama 3) the one after a call.
    private bool BlocksAllowed => !_anchored || (!_run.Started && (!_run.AfterCall || _syntax == ToolCallSyntax.Llama3Json));

    private void ThrowIfFinished()
    {
        if (_mode == Mode.Finished)
        {
            throw new InvalidOperationException("The stream has finished.");
        }
    }

    private static bool IsPrefix(StringBuilder held, string opening)
    {
        if (held.Length > opening.Length)
        {
            return false;
        }

        for (var i = 0; i < held.Length; i++)
        {
            if (held[i] != opening[i])
            {
                return false;
            }
        }

        return true;
    }

    private static bool EndsWith(StringBuilder text, string suffix)
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
}
