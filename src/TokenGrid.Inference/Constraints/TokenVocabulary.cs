using System.Numerics;

namespace TokenGrid.Inference.Constraints;

/// <summary>
/// A model's vocabulary as constrained decoding sees it: every token's bytes in a trie (tokens that share a prefix are
/// tried together, and a byte the constraint refuses prunes every token under it), and the tokens that are plain string
/// content (printable, no quote or backslash, whole UTF-8 characters) as bit sets by length, so a free string allows
/// them all at once; likewise what tokens write after an opening quote or an escape, and the tokens made of digits only
/// (<see cref="DigitTokens"/>). Special tokens are not in it: they are never constrained output. Built once per model,
/// read by any number of threads.
/// </summary>
public sealed class TokenVocabulary
{
    private readonly byte[]?[] _bytes;

    private TokenVocabulary(int size, byte[]?[] bytes)
    {
        Size = size;
        _bytes = bytes;
        Words = (size + 63) / 64;
        All = new ByteTokenTrie(bytes, _ => true);
        NonDigits = All.Where(id => !DigitTokens.IsDigits(bytes[id]));
        Digits = new DigitTokens(bytes);
        Body = new StringBodies(bytes, 0);
        Opening = new StringBodies(bytes, 1);
        var escapes = ByteSet.Of("\"\\/bfnrt");
        Escaped = new StringBodies(bytes, 1, escapes);
        EscapeEnds = [.. Enumerable.Range(0, size).Where(id => bytes[id] is [var b] && escapes.Contains(b))];
        _contentPoints = new(() => new CodePointTrie(Body.CodePoints));
    }

    /// <summary>Most pattern states whose content tokens are kept (per vocabulary); beyond it the cache starts over.</summary>
    private const int MaxPatternMasks = 4_096;

    private readonly System.Collections.Concurrent.ConcurrentDictionary<(PatternAutomaton, int), ulong[]> _patternContent = new();

    /// <summary>String content by code points, for pattern tables: built when a pattern first needs one.</summary>
    private readonly Lazy<CodePointTrie> _contentPoints;

    /// <summary>Most states of an automaton whose tables <see cref="PreparePatterns"/> builds ahead.</summary>
    private const int MaxPreparedStates = 512;

    private readonly System.Collections.Concurrent.ConcurrentDictionary<PatternAutomaton, Task> _prepared = new();

    /// <summary>
    /// Starts building, on a worker, the content tables (<see cref="PatternContent"/>) of every state of each of
    /// <paramref name="automata"/> not met before (those of at most <see cref="MaxPreparedStates"/> states), so that
    /// no mask pays for a pass over the vocabulary when a sequence first reaches a state. A mask that needs a table
    /// not built yet builds it itself (the same table). Returns when the work is started; the task ends with it.
    /// </summary>
    internal Task PreparePatterns(IReadOnlyList<PatternAutomaton> automata)
    {
        if (automata.Count == 0)
        {
            return Task.CompletedTask;
        }

        var tasks = new List<Task>(automata.Count);
        foreach (var automaton in automata)
        {
            if (automaton.StateCount <= MaxPreparedStates)
            {
                tasks.Add(_prepared.GetOrAdd(automaton, a => Task.Run(() => BuildAll(a))));
            }
        }

        return Task.WhenAll(tasks);
    }

    private void BuildAll(PatternAutomaton automaton)
    {
        for (var state = 0; state < automaton.StateCount; state++)
        {
            if (_patternContent.Count >= MaxPatternMasks - 1)
            {
                return; // the cache is full: later states are built when met
            }

            try
            {
                _ = PatternContent(automaton, state);
            }
            catch (ConstraintException)
            {
                return; // a state beyond the automaton's limits: the sequence that reaches it fails as before
            }
        }
    }

    /// <summary>Whether the content table of <paramref name="state"/> is built (for tests).</summary>
    internal bool HasPatternContent(PatternAutomaton automaton, int state) => _patternContent.ContainsKey((automaton, state));

    /// <summary>
    /// The tokens of string content (ending between characters) that <paramref name="automaton"/> can take whole from
    /// <paramref name="state"/>: every code point keeps it alive. Computed once per state and kept.
    /// </summary>
    internal ulong[] PatternContent(PatternAutomaton automaton, int state)
    {
        if (_patternContent.TryGetValue((automaton, state), out var known))
        {
            return known;
        }

        var bits = new ulong[Words];
        _contentPoints.Value.Live(automaton, state, bits);

        if (_patternContent.Count >= MaxPatternMasks)
        {
            _patternContent.Clear();
        }

        return _patternContent.GetOrAdd((automaton, state), bits);
    }

    /// <summary>The tokens read inside a string, between two characters.</summary>
    internal StringBodies Body { get; }

    /// <summary>The tokens that open a string, read after their opening quote.</summary>
    internal StringBodies Opening { get; }

    /// <summary>The tokens that end an escape with their first byte (<c>n</c>, <c>t"</c>, ...), read after it.</summary>
    internal StringBodies Escaped { get; }

    /// <summary>The one-byte tokens that end an escape (<c>"</c>, <c>\</c>, <c>/</c>, <c>b</c>, <c>f</c>, <c>n</c>, <c>r</c>, <c>t</c>).</summary>
    internal int[] EscapeEnds { get; }

    /// <summary>Ids in the vocabulary (the model's logits per row).</summary>
    public int Size { get; }

    /// <summary>Words of a mask over <see cref="Size"/> ids.</summary>
    public int Words { get; }

    /// <summary>Every generatable token.</summary>
    internal ByteTokenTrie All { get; }

    /// <summary>Every generatable token but those made of ASCII digits only: walked where <see cref="Digits"/> gives those.</summary>
    internal ByteTokenTrie NonDigits { get; }

    /// <summary>The tokens made of ASCII digits only, by length (see <see cref="DigitRuns"/>).</summary>
    internal DigitTokens Digits { get; }

    /// <summary>
    /// The tokens that, read from inside a string between characters, close it (an unescaped quote) or end inside a
    /// character or an escape: what is left to write grows with the latter, so they are walked, not allowed wholesale.
    /// </summary>
    internal ByteTokenTrie Closers => Body.Walked;

    /// <summary>Plain string content: printable, whole UTF-8 characters, no quote or backslash.</summary>
    internal LengthBuckets Plain => Body.Plain;

    /// <summary>String content that neither closes the string nor ends inside a character or an escape, by characters.</summary>
    internal LengthBuckets Inside => Body.Inside;

    /// <summary>
    /// Builds the vocabulary of <paramref name="size"/> ids; <paramref name="bytes"/> gives a token's bytes, or null for
    /// a token that is never constrained output (special tokens, ids the tokenizer does not have).
    /// </summary>
    public static TokenVocabulary Build(int size, Func<int, byte[]?> bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(size);
        ArgumentNullException.ThrowIfNull(bytes);
        var all = new byte[]?[size];
        for (var id = 0; id < size; id++)
        {
            all[id] = bytes(id) is { Length: > 0 } b ? b : null;
        }

        return new TokenVocabulary(size, all);
    }

    /// <summary>The bytes of <paramref name="id"/>, or null when it is not generatable.</summary>
    internal byte[]? Bytes(int id) => (uint)id < (uint)_bytes.Length ? _bytes[id] : null;
}

/// <summary>Tokens by how many characters they begin: bit sets for short ones, a list for long ones.</summary>
internal sealed class LengthBuckets
{
    /// <summary>Longest length kept in the bit sets.</summary>
    public const int Buckets = 16;

    private readonly ulong[][] _upTo;
    private readonly int[] _long;
    private readonly int[] _lengths;

    /// <summary>Sorts the tokens with a positive <paramref name="length"/> (0 leaves a token out).</summary>
    public LengthBuckets(int size, Func<int, int> length)
    {
        var words = (size + 63) / 64;
        _upTo = [.. Enumerable.Range(0, Buckets + 1).Select(_ => new ulong[words])];
        _lengths = new int[size];
        var longOnes = new List<int>();
        for (var id = 0; id < size; id++)
        {
            var n = _lengths[id] = length(id);
            if (n <= 0)
            {
                continue;
            }

            if (n > Buckets)
            {
                longOnes.Add(id);
                continue;
            }

            for (var b = n; b <= Buckets; b++)
            {
                _upTo[b][id >> 6] |= 1UL << (id & 63);
            }
        }

        _long = [.. longOnes];
    }

    /// <summary>Sets in <paramref name="mask"/> the tokens (of <paramref name="filter"/>, when given) that have <paramref name="min"/> to <paramref name="max"/> characters.</summary>
    public void AddTo(ulong[] mask, int min, int max, ulong[]? filter)
    {
        min = Math.Max(min, 1);
        if (max < min)
        {
            return;
        }

        var upper = _upTo[Math.Min(max, Buckets)];
        if (min - 1 <= Buckets)
        {
            // A free string's mask takes several of these passes over the whole vocabulary: a vector at a time.
            var lower = _upTo[min - 1];
            var w = 0;
            if (Vector.IsHardwareAccelerated)
            {
                for (; w <= upper.Length - Vector<ulong>.Count; w += Vector<ulong>.Count)
                {
                    var bits = Vector.AndNot(new Vector<ulong>(upper, w), new Vector<ulong>(lower, w));
                    if (filter is not null)
                    {
                        bits &= new Vector<ulong>(filter, w);
                    }

                    (new Vector<ulong>(mask, w) | bits).CopyTo(mask, w);
                }
            }

            for (; w < upper.Length; w++)
            {
                mask[w] |= upper[w] & ~lower[w] & (filter?[w] ?? ulong.MaxValue);
            }
        }

        if (max > Buckets)
        {
            foreach (var id in _long)
            {
                if (_lengths[id] >= min && _lengths[id] <= max && (filter is null || (filter[id >> 6] & (1UL << (id & 63))) != 0))
                {
                    mask[id >> 6] |= 1UL << (id & 63);
                }
            }
        }
    }

    /// <summary>Sets in <paramref name="mask"/> the tokens of <paramref name="min"/> to <paramref name="max"/> characters.</summary>
    public void AddTo(ulong[] mask, int min, int max) => AddTo(mask, min, max, null);
}
