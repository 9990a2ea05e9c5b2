namespace TokenGrid.Abstractions;

/// <summary>Node labels (<c>region=west</c>, <c>pool=dedicated</c>): value equality and matching for label maps.</summary>
public static class Labels
{
    /// <summary>An empty label map.</summary>
    public static IReadOnlyDictionary<string, string> None { get; } = new Dictionary<string, string>();

    /// <summary>True when both maps hold the same pairs (records holding label maps compare by this).</summary>
    public static bool SetEquals(IReadOnlyDictionary<string, string>? a, IReadOnlyDictionary<string, string>? b)
    {
        a ??= None;
        b ??= None;
        return a.Count == b.Count && a.All(pair => b.TryGetValue(pair.Key, out var value) && value == pair.Value);
    }

    /// <summary>An order-independent hash of the pairs.</summary>
    public static int SetHash(IReadOnlyDictionary<string, string>? labels)
    {
        var hash = 0;
        foreach (var (key, value) in labels ?? None)
        {
            hash ^= HashCode.Combine(key, value);
        }

        return hash;
    }

    /// <summary>True when <paramref name="node"/> carries every pair of <paramref name="required"/>.</summary>
    public static bool Satisfy(IReadOnlyDictionary<string, string> node, IReadOnlyDictionary<string, string>? required) =>
        (required ?? None).All(pair => node.TryGetValue(pair.Key, out var value) && value == pair.Value);
}
