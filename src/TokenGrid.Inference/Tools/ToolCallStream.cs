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
    private const string MistralArgs = "[ARGS]";

    private enum Mode { Content, AwaitJson, Name, Json, Tagged, Finished }

    private readonly ToolCallSyntax _syntax;
    private readonly string? _opening;
    private readonly string? _closing;
    private readonly bool _anchored;
    private readonly List<ToolCallDelta> _deltas = [];
    private readonly ContentRun _run = new();
    private readonly OpeningMatcher? _matcher;
    private readonly Func<bool> _allowed;
    private readonly Action<char> _release;
    private readonly StringBuilder _block = new();
    private Mode _mode;
    private int _calls;

    // The JSON value being read and where it starts in _block; the name read before it in Mistral's newer form
    // ([TOOL_CALLS]name[ARGS]{...}, or without [ARGS]) and how much of [ARGS] is matched.
    private readonly JsonExtent _json = new();
    private readonly StringBuilder _name = new();
    private int _jsonStart;
    private int _argsMatched;

    /// <summary>A stream for one answer in <paramref name="syntax"/>.</summary>
    public ToolCallStream(ToolCallSyntax syntax)
    {
        _syntax = syntax;
        _opening = ToolCallFormats.Opening(syntax);
        _closing = ToolCallFormats.Closing(syntax);
        _anchored = syntax is ToolCallSyntax.Llama3Json or ToolCallSyntax.PlainJson;
        _matcher = _opening is null ? null : new OpeningMatcher(_opening);
        _allowed = () => BlocksAllowed;
        _release = _run.Add;
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
        while (_mode == Mode.Tagged)
        {
            var body = _block.ToString(_opening!.Length, _block.Length - _opening.Length);
            if (ParseTagged(body) is { } calls)
            {
                Complete(calls);
            }
            else if (LeadingCall(body) is var (call, end))
            {
                // With parallel calls the reply is free once a call is complete, and the model may go on with text
                // instead of the closing tag: the call is the block's leading JSON value, and what follows is read on.
                Complete(call);
                foreach (var c in body[end..])
                {
                    Step(c);
                }
            }
            else
            {
                Fail();
            }
        }

        if (_mode is Mode.AwaitJson or Mode.Name or Mode.Json)
        {
            Fail();
        }

        _matcher?.Flush(_release);
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
            case Mode.AwaitJson when _syntax == ToolCallSyntax.Mistral && IsNameChar(c):
                (_mode, _argsMatched) = (Mode.Name, 0);
                NameChar(c);
                break;
            case Mode.AwaitJson:
                Fail();
                ContentChar(c);
                break;
            case Mode.Name:
                NameChar(c);
                break;
            case Mode.Json:
                _block.Append(c);
                if (_json.Step(c))
                {
                    var json = _block.ToString(_jsonStart, _block.Length - _jsonStart);
                    Complete(_name.Length > 0
                        ? ToolCallBodies.Named(_name.ToString(), json)
                        : ToolCallBodies.Json(json, allowArray: _syntax != ToolCallSyntax.Llama3Json));
                }

                break;
            case Mode.Tagged:
                _block.Append(c);
                if (OpeningMatcher.EndsWith(_block, _closing!))
                {
                    var length = _block.Length - _opening!.Length - _closing!.Length;
                    Complete(ParseTagged(_block.ToString(_opening.Length, length)));
                }
                else if (OpeningMatcher.EndsWith(_block, _opening!) && _block.Length >= 2 * _opening!.Length)
                {
                    NextOpening();
                }

                break;
        }
    }

    private void ContentChar(char c)
    {
        if (_matcher is not null && (_matcher.Holding || (BlocksAllowed && c == _opening![0])))
        {
            if (_matcher.Add(c, _allowed, _release))
            {
                _name.Clear();
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
        _json.Start();
        _mode = Mode.Json;
    }

    // Mistral's newer form: a function name, then [ARGS] (a special token, absent when special tokens are not
    // decoded), then the arguments object.
    private void NameChar(char c)
    {
        if (_argsMatched == 0 && IsNameChar(c))
        {
            _name.Append(c);
        }
        else if (_argsMatched < MistralArgs.Length && c == MistralArgs[_argsMatched])
        {
            _argsMatched++;
        }
        else if (c == '{' && (_argsMatched == 0 || _argsMatched == MistralArgs.Length))
        {
            StartJson(c);
            return;
        }
        else
        {
            Fail();
            ContentChar(c);
            return;
        }

        _block.Append(c);
    }

    /// <summary>
    /// A block that meets a second opening before its closing tag: when what came before that opening is a whole call,
    /// the call ends there (it is complete, so the opening cannot be inside it) and the opening starts the next block.
    /// </summary>
    private void NextOpening()
    {
        var length = _block.Length - 2 * _opening!.Length;
        if (ParseTagged(_block.ToString(_opening.Length, length)) is { } calls)
        {
            Complete(calls);
            _block.Append(_opening);
            _mode = Mode.Tagged;
        }
    }

    /// <summary>
    /// The call that a Hermes block's body starts with, when it starts with a whole JSON value that is one, and where
    /// that value ends; null otherwise (and always for DeepSeek's blocks, which hold no bare JSON).
    /// </summary>
    private (IReadOnlyList<ParsedToolCall> Calls, int End)? LeadingCall(string body)
    {
        var start = 0;
        while (start < body.Length && char.IsWhiteSpace(body[start]))
        {
            start++;
        }

        if (_syntax == ToolCallSyntax.DeepSeekV3 || start == body.Length || body[start] != '{')
        {
            return null;
        }

        var extent = new JsonExtent();
        extent.Start();
        for (var i = start + 1; i < body.Length; i++)
        {
            if (extent.Step(body[i]))
            {
                return ParseTagged(body[start..(i + 1)]) is { } calls ? (calls, i + 1) : null;
            }
        }

        return null;
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

    private static bool IsNameChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.';
}
