using System.Text;
using TokenGrid.Inference.Constraints;

namespace TokenGrid.Inference.Tests.Constraints.Patterns;

/// <summary>The automaton against .NET's regex engine (<see cref="EcmaReference"/>) on a corpus of real patterns.</summary>
public sealed class PatternAgreementTests
{
    private static readonly string[] Alphabet =
    [
        "a", "b", "c", "x", "y", "z", "A", "B", "Z", "0", "1", "2", "9", "-", "_", ".", "@", "+", " ", "/", "\\", ":",
        "#", "(", ")", "\n", "\t", "\r", "\0", "é", "Ω", "中", "٣", "\u00a0", "\u2003", "\u2028", "\ufeff", "\u0085",
    ];

    public static TheoryData<string> Corpus => PatternCorpus.All();

    [Fact]
    public void The_corpus_holds_at_least_forty_patterns() => Assert.True(PatternCorpus.Patterns.Length >= 40);

    [Theory]
    [MemberData(nameof(Corpus))]
    public void Every_walk_to_acceptance_is_a_match(string pattern)
    {
        var automaton = PatternAutomaton.Compile(pattern);
        var reference = EcmaReference.Create(pattern);
        var random = new Random(pattern.Aggregate(1234, (seed, c) => unchecked((seed * 31) + c)));
        for (var i = 0; i < 2000; i++)
        {
            var text = AutomatonWalker.Walk(automaton, random);
            Assert.True(reference.IsMatch(text), $"/{pattern}/ walked to \"{Escape(text)}\", which .NET does not match");
        }
    }

    [Theory]
    [MemberData(nameof(Corpus))]
    public void Random_strings_and_mutations_of_matches_get_the_same_verdict(string pattern)
    {
        var automaton = PatternAutomaton.Compile(pattern);
        var reference = EcmaReference.Create(pattern);
        // Seeded from the pattern's text (string hash codes change from process to process): a failure repeats.
        var random = new Random(pattern.Aggregate(5678, (seed, c) => unchecked((seed * 31) + c)));
        var checkedMatches = 0;
        for (var i = 0; i < 3000; i++)
        {
            var text = i % 2 == 0 ? RandomString(random) : Mutate(AutomatonWalker.Walk(automaton, random), random);
            var expected = reference.IsMatch(text);
            checkedMatches += expected ? 1 : 0;
            Assert.True(
                expected == AutomatonWalker.Accepts(automaton, text),
                $"/{pattern}/ on \"{Escape(text)}\": .NET says {expected}, the automaton the opposite");
        }

        Assert.True(checkedMatches > 0, "no string matched: the comparison proved nothing");
    }

    private static string RandomString(Random random)
    {
        var text = new StringBuilder();
        for (var n = random.Next(12); n > 0; n--)
        {
            text.Append(Alphabet[random.Next(Alphabet.Length)]);
        }

        return text.ToString();
    }

    private static string Mutate(string text, Random random)
    {
        var result = new StringBuilder(text);
        for (var edits = random.Next(1, 3); edits > 0; edits--)
        {
            var at = random.Next(result.Length + 1);
            var insert = Alphabet[random.Next(Alphabet.Length)];
            switch (random.Next(3))
            {
                case 0:
                    result.Insert(at, insert);
                    break;
                case 1 when at < result.Length:
                    result.Remove(at, 1);
                    break;
                default:
                    result.Remove(Math.Min(at, Math.Max(result.Length - 1, 0)), result.Length > 0 ? 1 : 0).Insert(at > result.Length ? result.Length : at, insert);
                    break;
            }
        }

        return result.ToString();
    }

    private static string Escape(string text) =>
        string.Concat(text.Select(c => c < 0x20 || c > 0x7E ? $"\\u{(int)c:x4}" : c.ToString()));
}
