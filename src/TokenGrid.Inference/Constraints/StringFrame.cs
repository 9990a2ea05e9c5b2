using System.Text;

namespace TokenGrid.Inference.Constraints;

/// <summary>
/// A JSON string being written: valid UTF-8 (no overlong forms, no surrogates), control characters only as escapes,
/// the simple escapes (<c>\" \\ \/ \b \f \n \r \t</c>; <c>\u</c> is not generated), within the node's length bounds in
/// code points. A free object key also keeps its bytes, so the object can refuse a key it already has.
/// </summary>
internal sealed class StringFrame : Frame
{
    private const int MaxKeyBytes = 256;
    private readonly StringNode _node;
    private readonly bool _opened;
    private readonly bool _escape;
    private readonly int _count;
    private readonly int _pending;
    private readonly byte _low;
    private readonly byte _high;
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
        : this(node, keyOf, true, false, 0, 0, 0, 0, keyOf, [])
    {
    }

    private StringFrame(StringNode node, Frame parent, bool opened, bool escape, int count, int pending, byte low, byte high, ObjectFrame? keyOf, byte[]? key)
        : base(parent, pending + (escape ? 1 : 0) + Math.Max(0, node.MinLength - count) + 1)
    {
        _node = node;
        _opened = opened;
        _escape = escape;
        _count = count;
        _pending = pending;
        _low = low;
        _high = high;
        _keyOf = keyOf;
        _key = key;
    }

    /// <summary>
    /// Code points this string may still take when it stands between characters (opened, no escape or character
    /// half-written) and any plain character may come next; -1 otherwise. Lets the mask allow every token of plain
    /// string content at once instead of walking each one.
    /// </summary>
    public int FreeRoom => !_opened || _escape || _pending > 0 ? -1
        : _keyOf is null ? _node.MaxLength - _count
        : Math.Max(0, MaxKeyBytes - 4 - _key!.Length) / 4;

    /// <summary>Whether this is an object's free key (plain characters only).</summary>
    public bool IsKey => _keyOf is not null;

    /// <summary>Characters still needed to reach <c>minLength</c>.</summary>
    public int Deficit => Math.Max(0, _node.MinLength - _count);

    /// <inheritdoc/>
    public override void Step(byte b, List<Frame> into)
    {
        if (!_opened)
        {
            if (b == '"')
            {
                into.Add(Next(false, 0, 0, 0, 0));
            }

            return;
        }

        if (_escape)
        {
            if (b is (byte)'"' or (byte)'\\' or (byte)'/' or (byte)'b' or (byte)'f' or (byte)'n' or (byte)'r' or (byte)'t')
            {
                into.Add(Next(false, _count, 0, 0, 0, key: b));
            }

            return;
        }

        if (_pending > 0)
        {
            if (b >= _low && b <= _high)
            {
                into.Add(Next(false, _count, _pending - 1, 0x80, 0xBF, key: b));
            }

            return;
        }

        if (b == '"')
        {
            Close(into);
            return;
        }

        if (_count >= _node.MaxLength || b < 0x20)
        {
            return;
        }

        if (_keyOf is not null && (b == '\\' || _key!.Length > MaxKeyBytes - 4))
        {
            // A free key is written without escapes (so its bytes are its name) and is short.
            return;
        }

        var (pending, low, high) = b switch
        {
            < 0x80 => (0, (byte)0, (byte)0),
            >= 0xC2 and <= 0xDF => (1, (byte)0x80, (byte)0xBF),
            0xE0 => (2, (byte)0xA0, (byte)0xBF),
            0xED => (2, (byte)0x80, (byte)0x9F),
            >= 0xE1 and <= 0xEF => (2, (byte)0x80, (byte)0xBF),
            0xF0 => (3, (byte)0x90, (byte)0xBF),
            >= 0xF1 and <= 0xF3 => (3, (byte)0x80, (byte)0xBF),
            0xF4 => (3, (byte)0x80, (byte)0x8F),
            _ => (-1, (byte)0, (byte)0),
        };
        if (pending >= 0)
        {
            into.Add(Next(b == '\\', _count + 1, pending, low, high, key: b));
        }
    }

    private void Close(List<Frame> into)
    {
        if (_count < _node.MinLength)
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

    private StringFrame Next(bool escape, int count, int pending, byte low, byte high, byte? key = null)
    {
        var bytes = _keyOf is not null && key is { } k ? [.. _key!, k] : _key;
        return new StringFrame(_node, Parent!, true, escape, count, pending, low, high, _keyOf, bytes);
    }
}
