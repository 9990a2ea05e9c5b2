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

/// <summary>A pattern state's content table, built by one walk of a code-point trie, equals stepping every token.</summary>
public sealed class PatternContentTests
{
    [Theory]
    [InlineData("qwen2_5", "^[A-Z]{3}-[0-9]{4,6}$", null)]
    [InlineData("qwen2_5", null, "email")]
    [InlineData("llama3_1", null, "date-time")]
    [InlineData("gpt2", "^(foo|bar)+ [a-z\\u00e9\\u4e00-\\u9fff]*\\\\n?.$", null)]
    [InlineData("gpt2", ".*x", null)]
    public void Every_states_table_equals_stepping_every_token(string family, string? pattern, string? format)
    {
        var (vocabulary, _, _) = ConstrainedWalk.Vocabulary(family);
        var automaton = format is null ? PatternAutomaton.Compile(pattern!) : PatternAutomaton.ForFormat(format);
        automaton.Explore();
        var points = vocabulary.Body.CodePoints;
        for (var state = 0; state < automaton.StateCount; state++)
        {
            var expected = new ulong[vocabulary.Words];
            for (var id = 0; id < points.Length; id++)
            {
                if (points[id] is { } text && text.Aggregate(state, automaton.Step) >= 0)
                {
                    expected[id >> 6] |= 1UL << (id & 63);
                }
            }

            Assert.Equal(expected, vocabulary.PatternContent(automaton, state));
        }
    }
}
