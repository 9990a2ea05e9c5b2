using System.Text.Json;
using TokenGrid.Inference.Constraints;
using TokenGrid.Inference.Engine;
using TokenGrid.Inference.Sampling;
using TokenGrid.Inference.Tests.Support;

namespace TokenGrid.Inference.Tests.Constraints;

/// <summary>The engine generating under a JSON schema on the demo model, whose random weights only the constraint tames.</summary>
public sealed class ConstrainedEngineTests
{
    private const string Schema = """
        {"type": "object", "properties": {"city": {"type": "string", "maxLength": 12}, "population": {"type": "integer", "minimum": 1},
         "coastal": {"type": "boolean"}, "districts": {"type": "array", "items": {"type": "string", "maxLength": 8}, "maxItems": 3}},
         "required": ["city", "population", "coastal"], "additionalProperties": false}
        """;

    private static readonly int[] s_prompt = [17, 4, 250, 9, 999, 3, 61];

    [Theory]
    [InlineData(0f)]
    [InlineData(1f)]
    public async Task Greedy_and_sampled_outputs_are_complete_values_of_the_schema(float temperature)
    {
        await using var run = EngineRun.Start(DemoModels.Small);
        var grammar = JsonGrammar.Compile(Schema);
        for (var seed = 0UL; seed < 4; seed++)
        {
            var (tokens, text, result) = await EngineRun.ReadAllAsync(run.Submit(new GenerationRequest
            {
                PromptTokens = s_prompt,
                MaxTokens = 120,
                Sampling = new SamplingOptions { Temperature = temperature, Seed = seed },
                Constraint = grammar,
            }));

            Assert.Equal(FinishReason.Stop, result.FinishReason);
            Assert.Equal(tokens.Length, result.CompletionTokens);
            using var json = JsonDocument.Parse(text);
            var root = json.RootElement;
            Assert.InRange(root.GetProperty("city").GetString()!.Length, 0, 12);
            Assert.True(root.GetProperty("population").GetInt64() >= 1);
            Assert.Contains(root.GetProperty("coastal").ValueKind, (JsonValueKind[])[JsonValueKind.True, JsonValueKind.False]);
        }
    }

    [Fact]
    public async Task Without_the_constraint_the_demo_model_writes_no_json()
    {
        // The control for the test above: the same requests unconstrained do not parse, so the constraint made them valid.
        await using var run = EngineRun.Start(DemoModels.Small);
        var (_, text, _) = await EngineRun.ReadAllAsync(run.Submit(new GenerationRequest
        {
            PromptTokens = s_prompt,
            MaxTokens = 40,
            Sampling = new SamplingOptions { Temperature = 1f, Seed = 1 },
        }));
        Assert.ThrowsAny<JsonException>(() => JsonDocument.Parse(text).Dispose());
    }

    [Fact]
    public async Task A_resumed_sequence_rebuilds_the_constraint_and_continues_exactly()
    {
        await using var run = EngineRun.Start(DemoModels.Small);
        var (whole, rest) = await RunAndResumeAsync(run, tokens => tokens[..5]);

        Assert.True(whole.Tokens.Length > 6, whole.Text);
        Assert.Equal(whole.Tokens[5..], rest.Tokens);
    }

    /// <summary>
    /// A sequence resumed with every token of a complete value (its node was lost after the last token but before the
    /// ending) ends at once by "stop" with no token more, as the first run did: it used to generate one more token (the
    /// end of sequence the finished value allows), which the job would have been charged for.
    /// </summary>
    [Fact]
    public async Task A_sequence_resumed_with_its_value_complete_ends_at_once_with_no_token_more()
    {
        await using var run = EngineRun.Start(DemoModels.Small);
        var (whole, rest) = await RunAndResumeAsync(run, tokens => tokens);

        Assert.Equal(FinishReason.Stop, whole.Result.FinishReason);
        Assert.Empty(rest.Tokens);
        Assert.Equal((FinishReason.Stop, 0, ""), (rest.Result.FinishReason, rest.Result.CompletionTokens, rest.Text));
    }

    /// <summary>
    /// A run that produced max_tokens and lost its ending resumes asking for no tokens more: only the rebuilt constraint
    /// tells whether its last token completed the value (stop) or not (length). No token is generated either way, and
    /// only such a run may ask for none.
    /// </summary>
    [Fact]
    public async Task A_constrained_sequence_resumed_with_no_tokens_left_ends_by_stop_or_length_as_its_value_stands()
    {
        await using var run = EngineRun.Start(DemoModels.Small);
        var grammar = JsonGrammar.Compile(Schema);
        var sampling = new SamplingOptions { Temperature = 1f, Seed = 7 };
        var whole = await EngineRun.ReadAllAsync(run.Submit(new GenerationRequest { PromptTokens = s_prompt, MaxTokens = 120, Sampling = sampling, Constraint = grammar }));
        Assert.Equal(FinishReason.Stop, whole.Result.FinishReason);
        foreach (var (from, expected) in new[] { (whole.Tokens, FinishReason.Stop), (whole.Tokens[..5], FinishReason.Length) })
        {
            var resumed = new GenerationRequest
            {
                PromptTokens = [.. s_prompt, .. from],
                ResumedOutputTokens = from.Length,
                MaxTokens = 0,
                Sampling = sampling,
                Constraint = grammar,
            };
            var rest = await EngineRun.ReadAllAsync(run.Submit(resumed));
            Assert.Equal((expected, 0, ""), (rest.Result.FinishReason, rest.Result.CompletionTokens, rest.Text));
            Assert.Empty(rest.Tokens);
            Assert.Equal(SubmitStatus.Invalid, run.Engine.Submit(resumed with { Constraint = null }).Status);
        }

        Assert.Equal(SubmitStatus.Invalid, run.Engine.Submit(new GenerationRequest { PromptTokens = s_prompt, MaxTokens = 0, Sampling = sampling, Constraint = grammar }).Status);
    }

    /// <summary>
    /// A sampled run under the schema, and the same request resumed from the part of its output that
    /// <paramref name="done"/> picks.
    /// </summary>
    private static async Task<((int[] Tokens, string Text, GenerationResult Result) Whole, (int[] Tokens, string Text, GenerationResult Result) Resumed)> RunAndResumeAsync(
        EngineRun run, Func<int[], int[]> done)
    {
        var grammar = JsonGrammar.Compile(Schema);
        var sampling = new SamplingOptions { Temperature = 1f, Seed = 7 };
        var whole = await EngineRun.ReadAllAsync(run.Submit(new GenerationRequest { PromptTokens = s_prompt, MaxTokens = 120, Sampling = sampling, Constraint = grammar }));
        var resumedFrom = done(whole.Tokens);
        var rest = await EngineRun.ReadAllAsync(run.Submit(new GenerationRequest
        {
            PromptTokens = [.. s_prompt, .. resumedFrom],
            ResumedOutputTokens = resumedFrom.Length,
            MaxTokens = 120 - resumedFrom.Length,
            Sampling = sampling,
            Constraint = grammar,
        }));
        return (whole, rest);
    }

    [Fact]
    public async Task Max_tokens_running_out_first_ends_by_length()
    {
        await using var run = EngineRun.Start(DemoModels.Small);
        var grammar = JsonGrammar.Compile("""{"type": "object", "properties": {"a": {"type": "string", "minLength": 50}}, "required": ["a"]}""");
        var (_, _, result) = await EngineRun.ReadAllAsync(run.Submit(new GenerationRequest
        {
            PromptTokens = s_prompt,
            MaxTokens = 5,
            Sampling = SamplingOptions.Greedy,
            Constraint = grammar,
        }));
        Assert.Equal(FinishReason.Length, result.FinishReason);
    }
}

/// <summary>A constraint with a trigger holds only from the trigger's first appearance in the output.</summary>
public sealed class TriggeredConstraintTests
{
    private static readonly int[] s_prompt = [17, 4, 250, 9, 999, 3, 61];

    private const string Call = """{"type": "object", "properties": {"name": {"const": "f"}, "arguments": {"type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"]}}, "required": ["name", "arguments"], "additionalProperties": false}""";

    [Fact]
    public async Task The_output_after_the_trigger_is_a_value_and_ends_with_it()
    {
        await using var run = EngineRun.Start(DemoModels.Small);
        const int Opening = 9906;
        var trigger = System.Text.Encoding.UTF8.GetString(run.Engine.Model.Tokenizer.TokenBytes(Opening));

        // The bias makes the model write the trigger first; from there the schema holds.
        var (tokens, text, result) = await EngineRun.ReadAllAsync(run.Submit(new GenerationRequest
        {
            PromptTokens = s_prompt,
            MaxTokens = 60,
            Sampling = new SamplingOptions { Temperature = 1f, Seed = 9, LogitBias = new Dictionary<int, float> { [Opening] = 100 } },
            Constraint = JsonGrammar.Compile(Call),
            ConstraintTrigger = trigger,
        }));

        Assert.Equal(Opening, tokens[0]);
        Assert.Equal(FinishReason.Stop, result.FinishReason);
        Assert.StartsWith(trigger, text, StringComparison.Ordinal);
        using var json = JsonDocument.Parse(text[trigger.Length..]);
        Assert.Equal("f", json.RootElement.GetProperty("name").GetString());
        Assert.Equal(JsonValueKind.Number, json.RootElement.GetProperty("arguments").GetProperty("x").ValueKind);
    }

    [Fact]
    public async Task With_repeats_each_appearance_of_the_trigger_holds_the_next_value()
    {
        await using var run = EngineRun.Start(DemoModels.Small);
        const int Opening = 9906;
        var trigger = System.Text.Encoding.UTF8.GetString(run.Engine.Model.Tokenizer.TokenBytes(Opening));
        var request = new GenerationRequest
        {
            PromptTokens = s_prompt,
            MaxTokens = 80,
            Sampling = new SamplingOptions { Temperature = 1f, Seed = 9, LogitBias = new Dictionary<int, float> { [Opening] = 100 } },
            Constraint = JsonGrammar.Compile(Call),
            ConstraintTrigger = trigger,
            ConstraintRepeats = true,
        };

        // The bias makes the model open a value whenever the output is free: each value is held to the schema, and the
        // output goes on after it instead of ending there.
        var (tokens, text, result) = await EngineRun.ReadAllAsync(run.Submit(request));
        Assert.Equal(FinishReason.Length, result.FinishReason);
        Assert.Equal(80, tokens.Length);
        var values = text.Split(trigger)[1..];
        Assert.True(values.Length >= 2, $"Expected several values, got: {text}");
        foreach (var value in values[..^1])
        {
            using var json = JsonDocument.Parse(value);
            Assert.Equal("f", json.RootElement.GetProperty("name").GetString());
            Assert.Equal(JsonValueKind.Number, json.RootElement.GetProperty("arguments").GetProperty("x").ValueKind);
        }

        // A resumed sequence rebuilds where it stands (inside a value or between two) from the tokens so far.
        var resumedAt = tokens.Length / 2;
        var resumed = await EngineRun.ReadAllAsync(run.Submit(request with
        {
            PromptTokens = [.. s_prompt, .. tokens[..resumedAt]],
            MaxTokens = tokens.Length - resumedAt,
            ResumedOutputTokens = resumedAt,
        }));
        Assert.Equal(tokens[resumedAt..], resumed.Tokens);
    }

    [Fact]
    public async Task Until_the_trigger_appears_the_output_is_free()
    {
        await using var run = EngineRun.Start(DemoModels.Small);
        var free = await EngineRun.ReadAllAsync(run.Submit(new GenerationRequest { PromptTokens = s_prompt, MaxTokens = 24, Sampling = SamplingOptions.Greedy }));
        var watched = await EngineRun.ReadAllAsync(run.Submit(new GenerationRequest
        {
            PromptTokens = s_prompt,
            MaxTokens = 24,
            Sampling = SamplingOptions.Greedy,
            Constraint = JsonGrammar.Compile(Call),
            ConstraintTrigger = "\u0001never\u0002",
        }));

        Assert.Equal(free.Tokens, watched.Tokens);
    }
}
