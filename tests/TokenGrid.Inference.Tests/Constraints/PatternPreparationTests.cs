using TokenGrid.Inference.Constraints;

namespace TokenGrid.Inference.Tests.Constraints;

/// <summary>A pattern state's content table is built ahead, when a constraint starts, not by the mask that first needs it.</summary>
public sealed class PatternPreparationTests
{
    [Fact]
    public async Task Starting_a_constraint_builds_every_state_of_its_patterns_ahead()
    {
        var (vocabulary, _, ends) = ConstrainedWalk.Vocabulary("gpt2");
        var grammar = JsonGrammar.Compile("""
            {"type": "object", "properties": {"code": {"type": "string", "pattern": "^[QXZ]{2}-[0-7]{3}$"},
             "id": {"type": "string", "format": "uuid"}}, "required": ["code", "id"]}
            """);
        Assert.Equal(2, grammar.Patterns.Count);
        var code = grammar.Patterns.Single(p => p.StateCount < 10);
        Assert.False(vocabulary.HasPatternContent(code, code.Start));

        _ = new TokenConstraint(grammar, vocabulary, ends);
        await vocabulary.PreparePatterns(grammar.Patterns);

        foreach (var pattern in grammar.Patterns)
        {
            for (var state = 0; state < pattern.StateCount; state++)
            {
                Assert.True(vocabulary.HasPatternContent(pattern, state), $"State {state} of {pattern.StateCount} not built.");
            }
        }
    }
}
