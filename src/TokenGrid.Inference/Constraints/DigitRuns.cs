namespace TokenGrid.Inference.Constraints;

/// <summary>
/// Which of the tokens made of ASCII digits only (<c>7</c>, <c>42</c>, <c>000</c>) a frame takes, as the longest one
/// beginning with <c>0</c> and the longest one beginning with another digit (0: none): in a number without bounds a run
/// of digits is taken or refused by its length alone, so the mask sets those tokens from <see cref="DigitTokens"/>
/// instead of stepping each (a vocabulary such as cl100k_base has a thousand of them, all three digits and under).
/// </summary>
/// <param name="ZeroLed">Longest run beginning with <c>0</c> that is taken.</param>
/// <param name="Others">Longest run beginning with 1 to 9 that is taken.</param>
internal readonly record struct DigitRuns(int ZeroLed, int Others)
{
    /// <summary>No run of digits is taken.</summary>
    public static DigitRuns None => default;

    /// <summary>The runs either takes.</summary>
    public DigitRuns Or(DigitRuns other) => new(Math.Max(ZeroLed, other.ZeroLed), Math.Max(Others, other.Others));

    /// <summary>
    /// The runs a value of <paramref name="node"/> that continues to <paramref name="parent"/> takes from its start:
    /// those of every frame it may begin with; null when one of them does not know its runs.
    /// </summary>
    public static DigitRuns? OfStart(SchemaNode node, Frame parent, int limit)
    {
        if (!node.FirstBytes.HasDigit)
        {
            return None;
        }

        var first = new List<Frame>(2);
        Frame.Start(node, parent, first);
        var runs = None;
        foreach (var f in first)
        {
            if (f.Digits(limit) is not { } own)
            {
                return null;
            }

            runs = runs.Or(own);
        }

        return runs;
    }
}

/// <summary>A vocabulary's tokens made of ASCII digits only, by length, apart by whether they begin with <c>0</c>.</summary>
internal sealed class DigitTokens
{
    private readonly LengthBuckets _zeroLed;
    private readonly LengthBuckets _others;

    /// <summary>Sorts the tokens of <paramref name="bytes"/> made of digits only.</summary>
    public DigitTokens(byte[]?[] bytes)
    {
        _zeroLed = new LengthBuckets(bytes.Length, id => IsDigits(bytes[id]) && bytes[id]![0] == '0' ? bytes[id]!.Length : 0);
        _others = new LengthBuckets(bytes.Length, id => IsDigits(bytes[id]) && bytes[id]![0] != '0' ? bytes[id]!.Length : 0);
    }

    /// <summary>Whether <paramref name="token"/> is made of ASCII digits only.</summary>
    public static bool IsDigits(byte[]? token) => token is { Length: > 0 } && token.AsSpan().IndexOfAnyExceptInRange((byte)'0', (byte)'9') < 0;

    /// <summary>Sets in <paramref name="mask"/> the digit tokens that <paramref name="runs"/> takes.</summary>
    public void AddTo(ulong[] mask, DigitRuns runs)
    {
        _zeroLed.AddTo(mask, 1, runs.ZeroLed);
        _others.AddTo(mask, 1, runs.Others);
    }
}
