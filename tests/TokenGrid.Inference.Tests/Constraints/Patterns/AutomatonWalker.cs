using System.Text;
using TokenGrid.Inference.Constraints;

namespace TokenGrid.Inference.Tests.Constraints.Patterns;

/// <summary>Random walks of a <see cref="PatternAutomaton"/> to acceptance, and whole-string verdicts.</summary>
internal static class AutomatonWalker
{
    /// <summary>Whether the automaton accepts <paramref name="text"/>, stepping code point by code point.</summary>
    public static bool Accepts(PatternAutomaton automaton, string text)
    {
        var state = automaton.Start;
        foreach (var rune in text.EnumerateRunes())
        {
            state = automaton.Step(state, rune.Value);
            if (state < 0)
            {
                return false;
            }
        }

        return automaton.IsAccepting(state);
    }

    /// <summary>
    /// A random accepted string of BMP code points (no surrogates): random moves up to a random length, then only
    /// moves that bring <see cref="PatternAutomaton.MinRemaining"/> down, so every walk ends accepted.
    /// </summary>
    public static string Walk(PatternAutomaton automaton, Random random, int maxFreeSteps = 40)
    {
        var text = new StringBuilder();
        var state = automaton.Start;
        var free = random.Next(maxFreeSteps + 1);
        for (var steps = 0; ; steps++)
        {
            var remaining = automaton.MinRemaining(state);
            var pieces = Pieces(automaton, state)
                .Where(p => steps < free || automaton.MinRemaining(p.Target) < remaining)
                .ToList();
            if (automaton.IsAccepting(state) && (steps >= free || pieces.Count == 0 || random.NextDouble() < 0.2))
            {
                return text.ToString();
            }

            if (pieces.Count == 0)
            {
                throw new InvalidOperationException($"Stuck in state {state} after \"{text}\".");
            }

            var (first, last, target) = pieces[random.Next(pieces.Count)];
            // Mostly near the start of a range, where the ASCII and the boundaries are.
            var top = random.Next(2) == 0 ? Math.Min(last, first + 127) : last;
            text.Append((char)random.Next(first, top + 1));
            state = target;
        }
    }

    // The transitions clipped to the BMP without surrogates, which .NET's UTF-16 engine sees as single characters.
    private static IEnumerable<(int First, int Last, int Target)> Pieces(PatternAutomaton automaton, int state)
    {
        foreach (var (first, last, target) in automaton.Transitions(state))
        {
            if (first <= 0xD7FF)
            {
                yield return (first, Math.Min(last, 0xD7FF), target);
            }

            if (last >= 0xE000 && first <= 0xFFFF)
            {
                yield return (Math.Max(first, 0xE000), Math.Min(last, 0xFFFF), target);
            }
        }
    }
}
