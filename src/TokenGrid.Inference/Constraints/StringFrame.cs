using System.Text;

namespace TokenGrid.Inference.Constraints;

/// <summary>
/// A JSON string being written: valid UTF-8 (no overlong forms, no surrogates), control characters only as escapes,
/// the simple escapes (<c>\" \\ \/ \b \f \n \r \t</c>; <c>\u</c> is not generated), within the node's length bounds in
/// code points, and its code points (escapes decoded) matching the node's pattern automaton. A free object key also
/// keeps its bytes (it is written without escapes), so the object can refuse a key it already has.
/// </summary>
internal sealed class StringFrame : Frame
{
    /// <summary>Most characters in a free key.</summary>
    private const int MaxKeyChars = 64;

    /// <summary>The characters an escape can stand for (<c>\u</c> is not generated).</summary>
    private static readonly int[] s_escaped = ['"', '\\', '/', 8, 12, 10, 13, 9];
    private readonly StringNode _node;
    private readonly Position _at;
    private readonly ObjectFrame? _keyOf;
    private readonly byte[]? _key;

    /// <summary>A string of <paramref name="node"/> before its opening quote.</summary>
    public StringFrame(StringNode node, Frame parent)
        : base(parent, node.MinBytes)
    {
        _node = node;
    }

    /// <summary>An object's free key after its opening quote; <paramref name="keyOf"/> is the object, waiting for the key.</summary>
    public StringFrame(StringNode node, ObjectFrame keyOf)
        : this(node, keyOf, new Position { Opened = true }, keyOf, [])
    {
    }

    private StringFrame(StringNode node, Frame parent, Position at, ObjectFrame? keyOf, byte[]? key)
        : base(parent, Own(node, at))
    {
        _node = node;
        _at = at;
        _keyOf = keyOf;
        _key = key;
    }

    /// <summary>
    /// Code points this string may still take when it stands between characters (opened, no escape or character
    /// half-written, no pattern) and any plain character may come next; -1 otherwise. Lets the mask allow every token
    /// of plain string content at once instead of walking each one.
    /// </summary>
    public int FreeRoom => !_at.Opened || _at.Escape || _at.Pending > 0 || _node.Pattern is not null ? -1
        : _keyOf is null ? _node.MaxLength - _at.Count
        : Math.Max(0, MaxKeyChars - _at.Count);

    /// <summary>
    /// With a pattern, between two characters: the pattern's state and the characters the string may still take;
    /// null otherwise.
    /// </summary>
    public (PatternAutomaton Pattern, int State, int Room)? PatternPlace =>
        _node.Pattern is { } pattern && _at.Opened && !_at.Escape && _at.Pending == 0 && _keyOf is null
            ? (pattern, _at.Pattern, _node.MaxLength - _at.Count)
            : null;

    /// <summary>
    /// For a free string (no pattern, not a key) just after a backslash: the string after the escape, which is the same
    /// whichever escape it is (nothing checks the character it stands for); null otherwise.
    /// </summary>
    public StringFrame? AfterEscape => _at.Escape && _node.Pattern is null && _keyOf is null
        ? Next(_at with { Escape = false, Pattern = 0 }, 0)
        : null;

    /// <summary>Whether this is an object's free key (plain characters only).</summary>
    public bool IsKey => _keyOf is not null;

    /// <summary>For a free key: its object, waiting for the key.</summary>
    public ObjectFrame? KeyOf => _keyOf;

    /// <summary>For a free key: its bytes so far.</summary>
    public byte[]? KeyText => _key;

    /// <summary>Characters still needed to reach <c>minLength</c>.</summary>
    public int Deficit => Math.Max(0, _node.MinLength - _at.Count);

    private static readonly ByteSet s_quote = ByteSet.Of("\"");
    private static readonly ByteSet s_escapes = ByteSet.Of("\"\\/bfnrt");
    private static readonly ByteSet s_between = Between();

    /// <inheritdoc/>
    public override ByteSet FirstBytes
    {
        get
        {
            if (!_at.Opened)
            {
                return s_quote;
            }

            if (_at.Escape)
            {
                return s_escapes;
            }

            if (_at.Pending > 0)
            {
                var set = default(ByteSet);
                set.AddRange(_at.Low, _at.High);
                return set;
            }

            return s_between;
        }
    }

    /// <summary>The bytes a string may take between characters: its closing quote and the first bytes of characters.</summary>
    private static ByteSet Between()
    {
        var set = s_quote;
        for (var b = 0; b < 256; b++)
        {
            if (Utf8Lead.Of((byte)b).Pending >= 0)
            {
                set.Add((byte)b);
            }
        }

        return set;
    }

    /// <inheritdoc/>
    public override void Step(byte b, List<Frame> into)
    {
        if (!_at.Opened)
        {
            if (b == '"')
            {
                into.Add(new StringFrame(_node, Parent!, _at with { Opened = true }, _keyOf, _key));
            }

            return;
        }

        if (_at.Escape)
        {
            var decoded = b switch
            {
                (byte)'"' or (byte)'\\' or (byte)'/' => b,
                (byte)'b' => 8,
                (byte)'f' => 12,
                (byte)'n' => 10,
                (byte)'r' => 13,
                (byte)'t' => 9,
                _ => -1,
            };
            if (decoded >= 0 && Match(decoded) is var state && state >= 0)
            {
                into.Add(Next(_at with { Escape = false, Pattern = state }, b));
            }

            return;
        }

        if (_at.Pending > 0)
        {
            if (b >= _at.Low && b <= _at.High)
            {
                var codePoint = (_at.CodePoint << 6) | (b & 0x3F);
                var next = _at with { Pending = _at.Pending - 1, Low = 0x80, High = 0xBF, CodePoint = codePoint };
                if (next.Pending == 0 ? (next = next with { Pattern = Match(codePoint) }).Pattern < 0 : !MayTake(codePoint, next.Pending))
                {
                    return;
                }

                into.Add(Next(next, b));
            }

            return;
        }

        if (b == '"')
        {
            Close(into);
            return;
        }

        if (_at.Count >= _node.MaxLength)
        {
            return;
        }

        if (_keyOf is not null && (b == '\\' || _at.Count >= MaxKeyChars))
        {
            // A free key is written without escapes (so its bytes are its name) and is short.
            return;
        }

        var (pending, low, high, bits) = Utf8Lead.Of(b);
        if (pending < 0)
        {
            return;
        }

        var at = _at with { Escape = b == '\\', Count = _at.Count + 1, Pending = pending, Low = low, High = high, CodePoint = bits };
        var possible = b == '\\' ? s_escaped.Any(c => Match(c) >= 0)
            : pending > 0 ? MayTake(bits, pending, low, high)
            : (at = at with { Pattern = Match(b) }).Pattern >= 0;
        if (!possible)
        {
            return;
        }

        into.Add(Next(at, b));
    }

    private static int Own(StringNode node, Position at)
    {
        var characters = Math.Max(0, node.MinLength - at.Count);
        if (node.Pattern is { } pattern && at.Pending == 0 && !at.Escape)
        {
            characters = Math.Max(characters, pattern.MinRemaining(at.Pattern));
        }

        return SchemaNode.Add(at.Pending + (at.Escape ? 1 : 0) + characters, 1);
    }

    /// <summary>
    /// Whether the pattern may take some code point that begins with the bits <paramref name="prefix"/>, with
    /// <paramref name="pending"/> continuation bytes (6 bits each) still to come: a byte that can only lead to a character
    /// the pattern refuses is refused itself, so a token never leaves the string half a character it cannot finish.
    /// </summary>
    private bool MayTake(int prefix, int pending, byte next = 0x80, byte nextHigh = 0xBF)
    {
        if (_node.Pattern is not { } pattern)
        {
            return true;
        }

        // The next continuation byte lies in [next, nextHigh] (narrower after E0, ED, F0, F4): the range starts there.
        var rest = 6 * (pending - 1);
        var low = ((prefix << 6) | (next & 0x3F)) << rest;
        var high = (((prefix << 6) | (nextHigh & 0x3F)) << rest) | ((1 << rest) - 1);
        return pattern.Leaves(_at.Pattern, low, high);
    }

    /// <summary>The pattern's state after <paramref name="codePoint"/>; -1 when it cannot match any more.</summary>
    private int Match(int codePoint) => _node.Pattern is { } pattern ? pattern.Step(_at.Pattern, codePoint) : 0;

    private void Close(List<Frame> into)
    {
        if (_at.Count < _node.MinLength || (_node.Pattern is { } pattern && !pattern.IsAccepting(_at.Pattern)))
        {
            return;
        }

        if (_keyOf is null)
        {
            into.Add(Parent!);
        }
        else if (_keyOf.WithFreeKey(Encoding.UTF8.GetString(_key!)) is { } afterKey)
        {
            into.Add(afterKey);
        }
    }

    private StringFrame Next(Position at, byte b) =>
        new(_node, Parent!, at, _keyOf, _keyOf is not null ? [.. _key!, b] : _key);

    /// <summary>Where the string is: opened, inside an escape, characters so far, a character half-written, the pattern's state.</summary>
    private readonly record struct Position(bool Opened, bool Escape, int Count, int Pending, byte Low, byte High, int CodePoint, int Pattern);
}
