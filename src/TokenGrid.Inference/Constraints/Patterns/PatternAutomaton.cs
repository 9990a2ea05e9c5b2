using System.Collections.Concurrent;

namespace TokenGrid.Inference.Constraints;

/// <summary>
/// A deterministic automaton over Unicode code points that accepts exactly the strings a JSON Schema <c>pattern</c>
/// (or a <c>format</c>) allows, so that constrained decoding can refuse any code point after which no valid string
/// remains. States are built lazily (subset construction on demand, cached) and each one's transitions are a sorted
/// table of code-point ranges, so <see cref="Step"/> is a binary search that allocates nothing once the state is built.
/// Several threads may step one automaton at once: building a missing state takes a lock, reading a built one does not.
/// </summary>
/// <remarks>
/// <para>The documented regex subset (ECMA-262 as JSON Schema uses it, matched against code points like the
/// <c>u</c> flag): literals; escapes <c>\n \t \r \f \v \0 \xHH \uXXXX \u{X...} \cX</c> and any escaped
/// non-alphanumeric character (<c>\. \/ \\ \-</c>); <c>.</c> (any code point but \n, \r, U+2028 and U+2029); classes
/// <c>[...]</c> and <c>[^...]</c> with ranges; <c>\d \D \w \W \s \S</c> as ECMA-262 defines them (ASCII digits and word
/// characters; <c>\s</c> with the Unicode space separators and U+FEFF); groups <c>(...)</c>, <c>(?:...)</c> and
/// <c>(?&lt;name&gt;...)</c>; alternation <c>|</c>; quantifiers <c>* + ? {n} {n,} {n,m}</c> (counts up to
/// <see cref="RegexParser.MaxRepeat"/>) and their lazy forms; <c>^</c> and <c>$</c> only at the start and end of
/// the pattern or of a top-level alternative. Without them the pattern matches anywhere in the string.</para>
/// <para>Refused with a <see cref="ConstraintException"/> (keyword <c>pattern</c>): backreferences, lookahead and
/// lookbehind, <c>\b \B</c>, <c>\k&lt;name&gt;</c>, anchors elsewhere, <c>\p{...}</c>, inline flags, unknown letter
/// escapes, patterns that match no string, and patterns whose automaton exceeds <see cref="MaxStates"/> states or
/// its build budget ("too complex"). Because states are built lazily, the budget can run out on a later
/// <see cref="Step"/>; call <see cref="Explore"/> first to refuse such a pattern up front.</para>
/// </remarks>
public sealed class PatternAutomaton
{
    /// <summary>The most states one automaton may have.</summary>
    public const int MaxStates = 10_000;

    private static readonly ConcurrentDictionary<string, PatternAutomaton> Formats = new(StringComparer.Ordinal);

    private readonly Lock _gate = new();
    private readonly Nfa? _nfa;
    private readonly Dictionary<int[], int> _ids = new(KeyComparer.Instance);
    private readonly SubsetBuilder? _builder;
    private State[] _states = new State[16];
    private int _count;

    private PatternAutomaton(Nfa nfa)
    {
        _nfa = nfa;
        _builder = new SubsetBuilder(nfa);
        var key = _builder.Closure([nfa.Start]);
        if (key.Length == 0)
        {
            throw new ConstraintException("pattern", "The pattern matches no string.");
        }

        AddState(key);
    }

    /// <summary>An automaton whose every state is already built (an intersection).</summary>
    internal PatternAutomaton(IReadOnlyList<(bool Accepting, int MinRemaining, int[] Lows, int[] Targets)> states)
    {
        _states = new State[states.Count];
        foreach (var (accepting, minRemaining, lows, targets) in states)
        {
            _states[_count++] = new State([], accepting, minRemaining) { Table = new Table(lows, targets) };
        }
    }

    /// <summary>The state before any code point.</summary>
    public int Start => 0;

    /// <summary>The build work spent so far (see <see cref="SubsetBuilder.MaxWork"/>).</summary>
    internal long Work => _builder?.Work ?? 0;

    /// <summary>The number of states built so far.</summary>
    public int StateCount => Volatile.Read(ref _count);

    /// <summary>
    /// Compiles an ECMA-262 pattern as JSON Schema uses it: not anchored (it matches if it matches anywhere in the
    /// string) unless it starts with <c>^</c> or ends with <c>$</c>. Only the documented regex subset is supported.
    /// </summary>
    /// <param name="pattern">The pattern, as written in the schema.</param>
    /// <returns>The automaton, with only its start state built.</returns>
    /// <exception cref="ConstraintException">Keyword <c>pattern</c>: unsupported syntax, no string matches, or too complex.</exception>
    public static PatternAutomaton Compile(string pattern)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        return new PatternAutomaton(Nfa.Build(RegexParser.Parse(pattern)));
    }

    /// <summary>
    /// The automaton of a JSON Schema string format: <c>date</c>, <c>date-time</c>, <c>time</c>, <c>uuid</c>,
    /// <c>email</c>, <c>uri</c>, <c>ipv4</c> or <c>hostname</c>. It accepts a subset of the strings JsonSchema.Net
    /// 8.0.5 validates for the format (stricter, never looser); see <see cref="FormatPatterns"/> for each one.
    /// Automata of formats are shared, fully built and cached.
    /// </summary>
    /// <param name="format">The format name, as written in the schema.</param>
    /// <exception cref="ConstraintException">Keyword <c>format</c>: the format is not supported.</exception>
    public static PatternAutomaton ForFormat(string format)
    {
        ArgumentNullException.ThrowIfNull(format);
        return Formats.GetOrAdd(format, static name =>
        {
            var pattern = FormatPatterns.Get(name)
                ?? throw new ConstraintException("format", $"The format '{name}' is not supported.");
            var automaton = Compile(pattern);
            automaton.Explore();
            return automaton;
        });
    }

    /// <summary>The state after <paramref name="codePoint"/>, or -1 when no string with this prefix can match.</summary>
    /// <param name="state">A state of this automaton; -1 gives -1.</param>
    /// <param name="codePoint">A Unicode code point (0 to U+10FFFF); others give -1.</param>
    /// <exception cref="ConstraintException">Building the state exceeded the automaton's limits ("too complex").</exception>
    public int Step(int state, int codePoint)
    {
        if (state < 0 || (uint)codePoint > CodePointSet.MaxCodePoint)
        {
            return -1;
        }

        var table = Get(state).Table ?? Build(state);
        var i = Array.BinarySearch(table.Lows, codePoint);
        return table.Targets[i >= 0 ? i : ~i - 1];
    }

    /// <summary>Whether the string that led to <paramref name="state"/> is accepted; false for -1.</summary>
    public bool IsAccepting(int state) => state >= 0 && Get(state).Accepting;

    /// <summary>The fewest code points that lead from <paramref name="state"/> to acceptance; int.MaxValue for -1.</summary>
    public int MinRemaining(int state) => state < 0 ? int.MaxValue : Get(state).MinRemaining;

    /// <summary>Whether some code point in [<paramref name="low"/>, <paramref name="high"/>] leads from <paramref name="state"/> to a live state (no allocation).</summary>
    public bool Leaves(int state, int low, int high)
    {
        if (state < 0)
        {
            return false;
        }

        var table = Get(state).Table ?? Build(state);
        for (var k = 0; k < table.Lows.Length; k++)
        {
            var last = k + 1 < table.Lows.Length ? table.Lows[k + 1] - 1 : CodePointSet.MaxCodePoint;
            if (table.Targets[k] >= 0 && table.Lows[k] <= high && last >= low)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The ranges of code points that lead somewhere from <paramref name="state"/>, in order, with their target.</summary>
    public IReadOnlyList<(int First, int Last, int Target)> Transitions(int state)
    {
        var table = Get(state).Table ?? Build(state);
        var result = new List<(int, int, int)>();
        for (var k = 0; k < table.Lows.Length; k++)
        {
            if (table.Targets[k] >= 0)
            {
                var last = k + 1 < table.Lows.Length ? table.Lows[k + 1] - 1 : CodePointSet.MaxCodePoint;
                result.Add((table.Lows[k], last, table.Targets[k]));
            }
        }

        return result;
    }

    /// <summary>
    /// The largest <see cref="MinRemaining"/> over every live state: how much a string under this pattern may still owe,
    /// at most, whatever it has written (builds every state on first use).
    /// </summary>
    public int LongestRemaining
    {
        get
        {
            if (_longest < 0)
            {
                Explore();
                var longest = 0;
                for (var s = 0; s < StateCount; s++)
                {
                    longest = Math.Max(longest, MinRemaining(s) == int.MaxValue ? 0 : MinRemaining(s));
                }

                _longest = longest;
            }

            return _longest;
        }
    }

    private int _longest = -1;

    /// <summary>
    /// Builds every reachable state now, so that later steps never build (nor throw). Call it when a request is
    /// admitted to refuse a too-complex pattern before generation starts.
    /// </summary>
    /// <exception cref="ConstraintException">The automaton exceeds its limits ("too complex").</exception>
    public void Explore()
    {
        for (var s = 0; s < StateCount; s++)
        {
            _ = Get(s).Table ?? Build(s);
        }
    }

    /// <summary>
    /// The automaton accepting the strings both this one and <paramref name="other"/> accept (a pattern and a format
    /// on one string). Both are explored, and the product is built at once.
    /// </summary>
    /// <exception cref="ConstraintException">Keyword <c>pattern</c>: no string satisfies both, or too complex.</exception>
    public PatternAutomaton Intersect(PatternAutomaton other)
    {
        ArgumentNullException.ThrowIfNull(other);
        Explore();
        other.Explore();
        return new PatternAutomaton(ProductBuilder.Build(this, other));
    }

    internal (int[] Lows, int[] Targets) TableOf(int state)
    {
        var table = Get(state).Table ?? Build(state);
        return (table.Lows, table.Targets);
    }

    private State Get(int state)
    {
        var states = Volatile.Read(ref _states);
        return (uint)state < (uint)states.Length && states[state] is { } s
            ? s
            : throw new ArgumentOutOfRangeException(nameof(state), state, "Not a state of this automaton.");
    }

    private Table Build(int state)
    {
        lock (_gate)
        {
            var s = _states[state];
            if (s.Table is { } built)
            {
                return built;
            }

            var (lows, targetKeys) = _builder!.Transitions(s.Key);
            var targets = new int[targetKeys.Length];
            for (var k = 0; k < targets.Length; k++)
            {
                targets[k] = targetKeys[k] is { } key ? (_ids.TryGetValue(key, out var id) ? id : AddState(key)) : -1;
            }

            var table = new Table(lows, targets);
            s.Table = table; // published last: readers that see it see the states it names
            return table;
        }
    }

    // Under the lock (or in the constructor).
    private int AddState(int[] key)
    {
        if (_count >= MaxStates)
        {
            throw new ConstraintException("pattern", $"The pattern is too complex: its automaton exceeds {MaxStates} states.");
        }

        var nfa = _nfa!;
        var accepting = false;
        var min = int.MaxValue;
        foreach (var n in key)
        {
            accepting |= n == Nfa.Accept;
            min = Math.Min(min, nfa.Distance[n]);
        }

        if (_count == _states.Length)
        {
            var grown = new State[_states.Length * 2];
            Array.Copy(_states, grown, _count);
            Volatile.Write(ref _states, grown);
        }

        _states[_count] = new State(key, accepting, min);
        _ids[key] = _count;
        Volatile.Write(ref _count, _count + 1);
        return _count - 1;
    }

    private sealed class State(int[] key, bool accepting, int minRemaining)
    {
        private volatile Table? _table;

        public int[] Key { get; } = key;

        public bool Accepting { get; } = accepting;

        public int MinRemaining { get; } = minRemaining;

        public Table? Table { get => _table; set => _table = value; }
    }

    // Lows[k] is the first code point of cell k (Lows[0] == 0); the cell runs to Lows[k + 1] - 1.
    private sealed record Table(int[] Lows, int[] Targets);
}
