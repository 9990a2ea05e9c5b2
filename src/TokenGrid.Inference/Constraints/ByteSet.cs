using System.Numerics;

namespace TokenGrid.Inference.Constraints;

/// <summary>A set of byte values, 256 bits.</summary>
internal struct ByteSet
{
    private ulong _w0;
    private ulong _w1;
    private ulong _w2;
    private ulong _w3;

    /// <summary>Every byte.</summary>
    public static ByteSet All => new() { _w0 = ulong.MaxValue, _w1 = ulong.MaxValue, _w2 = ulong.MaxValue, _w3 = ulong.MaxValue };

    private static readonly ByteSet s_spaces = Of(" \n\t\r");

    /// <summary>JSON whitespace.</summary>
    public static ByteSet Spaces => s_spaces;

    /// <summary>The set of the bytes of <paramref name="ascii"/>.</summary>
    public static ByteSet Of(string ascii)
    {
        var set = default(ByteSet);
        foreach (var c in ascii)
        {
            set.Add((byte)c);
        }

        return set;
    }

    /// <summary>Whether it holds an ASCII digit.</summary>
    public readonly bool HasDigit => (_w0 & 0x03FF_0000_0000_0000UL) != 0;

    /// <summary>How many bytes are in it.</summary>
    public readonly int Count =>
        BitOperations.PopCount(_w0) + BitOperations.PopCount(_w1) + BitOperations.PopCount(_w2) + BitOperations.PopCount(_w3);

    /// <summary>Adds <paramref name="b"/>.</summary>
    public void Add(byte b)
    {
        var bit = 1UL << (b & 63);
        switch (b >> 6)
        {
            case 0: _w0 |= bit; break;
            case 1: _w1 |= bit; break;
            case 2: _w2 |= bit; break;
            default: _w3 |= bit; break;
        }
    }

    /// <summary>Adds every byte from <paramref name="low"/> to <paramref name="high"/>.</summary>
    public void AddRange(byte low, byte high)
    {
        for (var b = (int)low; b <= high; b++)
        {
            Add((byte)b);
        }
    }

    /// <summary>Adds every byte of <paramref name="other"/>.</summary>
    public void Union(in ByteSet other)
    {
        _w0 |= other._w0;
        _w1 |= other._w1;
        _w2 |= other._w2;
        _w3 |= other._w3;
    }

    /// <summary>Removes every byte of <paramref name="other"/>.</summary>
    public void Except(in ByteSet other)
    {
        _w0 &= ~other._w0;
        _w1 &= ~other._w1;
        _w2 &= ~other._w2;
        _w3 &= ~other._w3;
    }

    /// <summary>Whether <paramref name="b"/> is in it.</summary>
    public readonly bool Contains(byte b) => (Word(b >> 6) & (1UL << (b & 63))) != 0;

    /// <summary>The 64 bits of bytes 64 × <paramref name="index"/> to 64 × <paramref name="index"/> + 63.</summary>
    public readonly ulong Word(int index) => index switch { 0 => _w0, 1 => _w1, 2 => _w2, _ => _w3 };
}
