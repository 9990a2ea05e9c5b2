using System.Text.RegularExpressions;
using TokenGrid.Inference.Constraints;

namespace TokenGrid.Inference.Tests.Constraints.Patterns;

public sealed class PatternAutomatonTests
{
    [Theory]
    [InlineData(@"^abc$", "", 3)]
    [InlineData(@"^abc$", "a", 2)]
    [InlineData(@"^abc$", "abc", 0)]
    [InlineData(@"^a{3,5}$", "", 3)]
    [InlineData(@"^a{3,5}$", "aaaa", 0)]
    [InlineData(@"^(ab|c)d$", "", 2)]
    [InlineData(@"^(ab|c)d$", "a", 2)]
    [InlineData(@"[0-9]+", "", 1)]
    [InlineData(@"[0-9]+", "xyz", 1)]
    [InlineData(@"[0-9]+", "x1y", 0)]
    [InlineData(@"^\d{4}-\d{2}$", "", 7)]
    [InlineData(@"^\d{4}-\d{2}$", "2024-", 2)]
    [InlineData(@"^$", "", 0)]
    public void MinRemaining_is_the_length_of_the_shortest_completion(string pattern, string prefix, int expected)
    {
        var automaton = PatternAutomaton.Compile(pattern);
        Assert.Equal(expected, automaton.MinRemaining(StepAll(automaton, prefix)));
    }

    [Theory]
    [InlineData(@"^(ab|c)*abc$")]
    [InlineData(@"^a{2,4}b?c$")]
    [InlineData(@"abc")]
    [InlineData(@"^(a|bc){3}$")]
    [InlineData(@"^(ab|a)(bc|c)?$")]
    [InlineData(@"a(b|c)*a")]
    [InlineData(@"^((a|b)*c){2}$")]
    public void MinRemaining_matches_a_brute_force_search_over_a_small_alphabet(string pattern)
    {
        var automaton = PatternAutomaton.Compile(pattern);
        var reference = new Regex(pattern, RegexOptions.ECMAScript);
        var words = Words("abc", 7);
        foreach (var prefix in Words("abc", 4))
        {
            var state = StepAll(automaton, prefix);
            var shortest = words.Where(w => reference.IsMatch(prefix + w)).Select(w => w.Length).DefaultIfEmpty(int.MaxValue).Min();
            var min = automaton.MinRemaining(state);
            Assert.True(shortest == min || (shortest == int.MaxValue && min > 7), $"/{pattern}/ after \"{prefix}\": {min} vs {shortest}");
            Assert.Equal(min == int.MaxValue, state == -1);
        }
    }

    [Theory]
    [InlineData(@"^[\w-.]+$", "a-b.c_9", true)]
    [InlineData(@"^[\w-.]+$", "a b", false)]
    [InlineData(@"^[^]$", "\n", true)]
    [InlineData(@"^a{,2}$", "a{,2}", true)]
    [InlineData(@"^a{,2}$", "aa", false)]
    [InlineData(@"^x{1,2$", "x{1,2", true)]
    [InlineData(@"^]}$", "]}", true)]
    [InlineData(@"^\cJ$", "\n", true)]
    [InlineData(@"^[\b]$", "\b", true)]
    [InlineData(@"^[-a]+$", "-a-", true)]
    [InlineData(@"^.$", "\u2028", false)]
    [InlineData(@"^\s$", "\ufeff", true)]
    [InlineData(@"^\s$", "\u0085", false)]
    [InlineData(@"^\d$", "\u0663", false)]
    [InlineData(@"^\w$", "é", false)]
    [InlineData(@"^a\$$", "a$", true)]
    [InlineData(@"a\$", "xa$y", true)]
    [InlineData(@"^[$^]+$", "$^$", true)]
    public void ECMA_262_details_hold(string pattern, string text, bool expected) =>
        Assert.Equal(expected, AutomatonWalker.Accepts(PatternAutomaton.Compile(pattern), text));

    [Theory]
    [InlineData(@"(a)\1")]
    [InlineData(@"(?=a)a")]
    [InlineData(@"(?!a)b")]
    [InlineData(@"(?<=a)b")]
    [InlineData(@"(?<!a)b")]
    [InlineData(@"\bword\b")]
    [InlineData(@"a\Bb")]
    [InlineData(@"(?<n>a)\k<n>")]
    [InlineData(@"a^b")]
    [InlineData(@"a$b")]
    [InlineData(@"(^a)")]
    [InlineData(@"(a$)")]
    [InlineData(@"\p{L}+")]
    [InlineData(@"\P{Lu}")]
    [InlineData(@"(?i)abc")]
    [InlineData(@"*a")]
    [InlineData(@"a**")]
    [InlineData(@"(a")]
    [InlineData(@"a)")]
    [InlineData(@"[a")]
    [InlineData(@"[z-a]")]
    [InlineData(@"a{3,2}")]
    [InlineData(@"a\")]
    [InlineData(@"\q")]
    [InlineData(@"\x4")]
    [InlineData(@"\u12")]
    [InlineData(@"\07")]
    [InlineData(@"a{20000}")]
    [InlineData(@"^[]$")]
    public void Unsupported_syntax_is_refused_naming_pattern(string pattern)
    {
        var error = Assert.Throws<ConstraintException>(() => PatternAutomaton.Compile(pattern));
        Assert.Equal("pattern", error.Keyword);
    }

    [Theory]
    [InlineData(@"(a|aa)*b{1000}")]
    [InlineData(@"(.*a){20}")]
    [InlineData(@"^(a|b)*a(a|b){20}$")]
    [InlineData(@"((a*)*)*b")]
    [InlineData(@"^(x+x+)+y$")]
    [InlineData(@"(a{1000}){1000}")]
    [InlineData(@"^(.{0,100}){100}$")]
    public void A_hostile_pattern_compiles_within_the_cap_or_is_refused_as_too_complex(string pattern)
    {
        try
        {
            var automaton = PatternAutomaton.Compile(pattern);
            automaton.Explore();
            Assert.InRange(automaton.StateCount, 1, PatternAutomaton.MaxStates);
        }
        catch (ConstraintException error)
        {
            Assert.Equal("pattern", error.Keyword);
            Assert.Contains("too complex", error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void An_exponential_automaton_is_refused_as_too_complex()
    {
        var automaton = PatternAutomaton.Compile(@"^(a|b)*a(a|b){20}$");
        var error = Assert.Throws<ConstraintException>(automaton.Explore);
        Assert.Contains("too complex", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Deeply_nested_groups_are_refused_as_too_complex()
    {
        var pattern = new string('(', 50_000) + "a" + new string(')', 50_000);
        var error = Assert.Throws<ConstraintException>(() => PatternAutomaton.Compile(pattern));
        Assert.Contains("too complex", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_class_of_many_single_code_points_compiles()
    {
        var members = string.Concat(Enumerable.Range(0, 20_000).Select(k => char.ConvertFromUtf32(0x10000 + (2 * k))));
        var automaton = PatternAutomaton.Compile($"^[{members}]$");
        Assert.True(AutomatonWalker.Accepts(automaton, "\U00010002"));
        Assert.False(AutomatonWalker.Accepts(automaton, "\U00010003"));
    }

    [Fact]
    public void Code_points_above_the_bmp_are_single_code_points()
    {
        Assert.True(AutomatonWalker.Accepts(PatternAutomaton.Compile(@"^.$"), "😀"));
        Assert.False(AutomatonWalker.Accepts(PatternAutomaton.Compile(@"^.$"), "😀😀"));
        Assert.True(AutomatonWalker.Accepts(PatternAutomaton.Compile(@"^[😀-😂]{2}$"), "😁😂"));
        Assert.True(AutomatonWalker.Accepts(PatternAutomaton.Compile(@"^\uD83D\uDE00$"), "😀"));
        Assert.True(AutomatonWalker.Accepts(PatternAutomaton.Compile(@"^\u{1F600}$"), "😀"));
        Assert.False(AutomatonWalker.Accepts(PatternAutomaton.Compile(@"^[^😀]$"), "😀"));
    }

    [Fact]
    public void Step_returns_minus_one_as_soon_as_nothing_can_match()
    {
        var anchored = PatternAutomaton.Compile(@"^abc$");
        Assert.Equal(-1, anchored.Step(anchored.Start, 'x'));
        Assert.Equal(-1, anchored.Step(StepAll(anchored, "abc"), 'c'));
        Assert.Equal(-1, anchored.Step(-1, 'a'));
        Assert.Equal(-1, anchored.Step(anchored.Start, 0x110000));
        Assert.False(anchored.IsAccepting(-1));
        Assert.Equal(int.MaxValue, anchored.MinRemaining(-1));

        // An alternative that can never finish is pruned: 'a' leads nowhere.
        var pruned = PatternAutomaton.Compile(@"^(a[]|b)$");
        Assert.Equal(-1, pruned.Step(pruned.Start, 'a'));
        Assert.NotEqual(-1, pruned.Step(pruned.Start, 'b'));

        var unanchored = PatternAutomaton.Compile(@"abc");
        Assert.NotEqual(-1, unanchored.Step(unanchored.Start, 'x'));
        Assert.True(unanchored.IsAccepting(StepAll(unanchored, "xxabcxx")));
    }

    [Fact]
    public void Stepping_built_states_allocates_nothing()
    {
        var automaton = PatternAutomaton.ForFormat("date-time");
        const string text = "2024-02-28T13:45:00.123+02:00";
        Assert.True(AutomatonWalker.Accepts(automaton, text));
        // 290,000 steps: one allocation per step, of even the smallest object, would count about 7 MB. The bound leaves
        // room for what the runtime may count on this thread meanwhile (a one-off 32 KB was seen on a loaded machine,
        // while other tests' workers built states of this shared automaton).
        const int Walks = 10_000;
        var before = GC.GetAllocatedBytesForCurrentThread();
        var accepted = 0;
        for (var i = 0; i < Walks; i++)
        {
            var state = automaton.Start;
            foreach (var c in text)
            {
                state = automaton.Step(state, c);
            }

            accepted += automaton.IsAccepting(state) && automaton.MinRemaining(state) == 0 ? 1 : 0;
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < 64 * 1024, $"{allocated} bytes allocated over {Walks * text.Length} steps");
        Assert.Equal(Walks, accepted);
    }

    [Fact]
    public void Transitions_are_sorted_disjoint_ranges()
    {
        var automaton = PatternAutomaton.Compile(@"^[a-f0-9\s]+[^x]$");
        var transitions = automaton.Transitions(automaton.Start);
        Assert.NotEmpty(transitions);
        for (var k = 1; k < transitions.Count; k++)
        {
            Assert.True(transitions[k - 1].Last < transitions[k].First);
        }

        Assert.All(transitions, t => Assert.Equal(t.Target, automaton.Step(automaton.Start, t.First)));
    }

    [Fact]
    public void Threads_stepping_one_automaton_at_once_agree_with_a_private_one()
    {
        const string pattern = @"^[a-z]{1,40}@[a-z]{1,30}\.(com|org|net)$";
        var shared = PatternAutomaton.Compile(pattern);
        var strings = Enumerable.Range(0, 400).Select(i => AutomatonWalker.Walk(PatternAutomaton.Compile(pattern), new Random(i))).ToArray();
        using var start = new Barrier(4);
        var workers = Enumerable.Range(0, 4).Select(w => Task.Factory.StartNew(
            () =>
            {
                start.SignalAndWait();
                return strings.Count(s => AutomatonWalker.Accepts(shared, s) && AutomatonWalker.Accepts(shared, s + "x") == false);
            },
            TaskCreationOptions.LongRunning)).ToArray();
        Assert.All(workers, w => Assert.Equal(strings.Length, w.Result));
    }

    [Fact]
    public void An_intersection_accepts_what_both_accept()
    {
        var both = PatternAutomaton.Compile(@"^[a-z0-9]+$").Intersect(PatternAutomaton.Compile(@"^.{3,5}$"));
        Assert.Equal(3, both.MinRemaining(both.Start));
        var left = new Regex(@"^[a-z0-9]+$");
        var right = new Regex(@"^.{3,5}$");
        var random = new Random(7);
        for (var i = 0; i < 1000; i++)
        {
            var text = AutomatonWalker.Walk(both, random);
            Assert.True(left.IsMatch(text) && right.IsMatch(text), text);
        }

        Assert.False(AutomatonWalker.Accepts(both, "abcdef"));
        Assert.False(AutomatonWalker.Accepts(both, "ab"));
        Assert.Equal(-1, both.Step(both.Start, '-'));
    }

    [Fact]
    public void An_empty_intersection_is_refused()
    {
        var error = Assert.Throws<ConstraintException>(
            () => PatternAutomaton.Compile(@"^a+$").Intersect(PatternAutomaton.Compile(@"^b+$")));
        Assert.Equal("pattern", error.Keyword);
    }

    private static int StepAll(PatternAutomaton automaton, string text)
    {
        var state = automaton.Start;
        foreach (var rune in text.EnumerateRunes())
        {
            state = automaton.Step(state, rune.Value);
        }

        return state;
    }

    private static List<string> Words(string alphabet, int maxLength)
    {
        var words = new List<string> { "" };
        for (var start = 0; start < words.Count && words[start].Length < maxLength; start++)
        {
            words.AddRange(alphabet.Select(c => words[start] + c));
        }

        return words;
    }
}
