using System.Text.Json.Nodes;
using TokenGrid.Inference.Templates;
using TokenGrid.Inference.Tests.Templates;
using TokenGrid.Inference.Tools;

namespace TokenGrid.Inference.Tests.Tools;

/// <summary>
/// Real chat templates (the @lenml packages of the reference tools) write an assistant's tool calls through our own
/// renderer; the syntax detected from the template reads them back, whole and streamed.
/// </summary>
public sealed class ToolCallTemplateTests
{
    private static readonly FixedClock Clock = new(new DateTimeOffset(2025, 1, 9, 12, 0, 0, TimeSpan.Zero));

    private static readonly (string Name, string Arguments)[] Calls =
    [
        ("get_weather", """{"city": "Zürich", "days": 2, "units": {"temp": "°C"}, "tags": ["a", "b c"], "exact": true, "ratio": 0.5}"""),
        ("get_time", """{"zone": "Europe/Zurich", "note": "東京 «quoted \"text\"»"}"""),
    ];

    // Family, the syntax its template shows, the text that ends the assistant's turn, how many calls one message may
    // hold, and whether the template writes content beside calls.
    private static readonly Family[] s_families =
    [
        new("qwen2_5", ToolCallSyntax.Hermes, ["<|im_end|>"], MaxCalls: 2, KeepsContent: true),
        new("qwen3", ToolCallSyntax.Hermes, ["<|im_end|>"], MaxCalls: 2, KeepsContent: true),
        new("llama3_2", ToolCallSyntax.Llama3Json, ["<|eot_id|>"], MaxCalls: 1, KeepsContent: false),
        new("mistral_nemo", ToolCallSyntax.Mistral, ["</s>"], MaxCalls: 2, KeepsContent: false),
        new("deepseek_v3", ToolCallSyntax.DeepSeekV3, ["<｜end▁of▁sentence｜>", "<｜tool▁outputs▁begin｜>"], MaxCalls: 2, KeepsContent: false),
    ];

    public static TheoryData<string, int, bool> Scenarios()
    {
        var data = new TheoryData<string, int, bool>();
        foreach (var family in s_families)
        {
            for (var count = 1; count <= family.MaxCalls; count++)
            {
                data.Add(family.Name, count, false);
                if (family.KeepsContent)
                {
                    data.Add(family.Name, count, true);
                }
            }
        }

        return data;
    }

    [Theory]
    [InlineData("qwen2_5", ToolCallSyntax.Hermes)]
    [InlineData("qwen3", ToolCallSyntax.Hermes)]
    [InlineData("llama3_2", ToolCallSyntax.Llama3Json)]
    [InlineData("mistral_nemo", ToolCallSyntax.Mistral)]
    [InlineData("deepseek_v3", ToolCallSyntax.DeepSeekV3)]
    [InlineData("llama3_1", ToolCallSyntax.PlainJson)]
    [InlineData("llama3", ToolCallSyntax.PlainJson)]
    [InlineData("gemma3", ToolCallSyntax.PlainJson)]
    public void Detect_picks_the_syntax_of_each_real_template(string family, ToolCallSyntax expected)
    {
        var template = ChatTemplateSet.Load(TemplateFixtures.ModelDirectory(family))!.Select(hasTools: true);
        Assert.Equal(expected, ToolCallFormats.Detect(template.Source));
    }

    [Theory]
    [MemberData(nameof(Scenarios))]
    public void Calls_written_by_the_real_template_parse_back(string familyName, int callCount, bool withContent)
    {
        var family = s_families.Single(f => f.Name == familyName);
        var directory = TemplateFixtures.ModelDirectory(family.Name);
        var syntax = ToolCallFormats.Detect(ChatTemplateSet.Load(directory)!.Select(hasTools: true).Source);
        Assert.Equal(family.Syntax, syntax);

        var content = withContent ? "Let me check both for you." : null;
        var output = RenderAssistantTurn(family, directory, callCount, content);
        var parse = ToolCallParser.Parse(syntax, output);

        Assert.Equal(content, parse.Content);
        Assert.Equal(callCount, parse.Calls.Count);
        for (var i = 0; i < callCount; i++)
        {
            Assert.Equal(Calls[i].Name, parse.Calls[i].Name);
            Assert.True(ToolCallSplits.JsonEquals(Calls[i].Arguments, parse.Calls[i].ArgumentsJson), $"{parse.Calls[i].ArgumentsJson} in {output}");
        }

        ToolCallSplits.AssertEverySplitAgrees(syntax, output, randomSplits: 100);
    }

    // The text the template writes for the assistant's message: the full conversation minus the prompt that asks for
    // that turn, up to the end-of-turn marker (which generation stops at, so the parser never sees it).
    private static string RenderAssistantTurn(Family family, string directory, int callCount, string? content)
    {
        // DeepSeek V3's template concatenates the arguments as the string OpenAI sends; the others want an object.
        var options = new ChatPromptOptions { ParseToolCallArguments = family.Syntax != ToolCallSyntax.DeepSeekV3 };
        var renderer = new ChatPromptRenderer(ChatTemplateSet.Load(directory)!, options, Clock);
        var ids = new[] { "abcdefgh1", "abcdefgh2" };
        var user = new JsonObject { ["role"] = "user", ["content"] = "What is the weather in Zürich, and the time there?" };
        var assistant = new JsonObject
        {
            ["role"] = "assistant",
            // Qwen 3's template looks for "</think>" in the content, which fails on null as it does in Python.
            ["content"] = content ?? (family.Name == "qwen3" ? "" : null),
            ["tool_calls"] = new JsonArray([.. Calls.Take(callCount).Select((c, i) => (JsonNode)new JsonObject
            {
                ["id"] = ids[i],
                ["type"] = "function",
                ["function"] = new JsonObject { ["name"] = c.Name, ["arguments"] = c.Arguments },
            })]),
        };
        var results = ids.Take(callCount).Select(id => (JsonNode)new JsonObject { ["role"] = "tool", ["tool_call_id"] = id, ["content"] = "{\"ok\": true}" });
        JsonNode[] tools = [.. Calls.Select(c => (JsonNode)new JsonObject
        {
            ["type"] = "function",
            ["function"] = new JsonObject
            {
                ["name"] = c.Name,
                ["description"] = $"Looks up {c.Name}.",
                ["parameters"] = JsonNode.Parse("""{"type": "object", "properties": {"city": {"type": "string"}}, "required": []}"""),
            },
        })];

        var prompt = renderer.Render([user.DeepClone()], tools, addGenerationPrompt: true);
        var full = renderer.Render([user, assistant, .. results], tools, addGenerationPrompt: false);
        Assert.StartsWith(prompt, full, StringComparison.Ordinal);
        var turn = full[prompt.Length..];
        var end = family.EndMarkers.Select(m => turn.IndexOf(m, StringComparison.Ordinal)).Where(i => i >= 0).DefaultIfEmpty(-1).Min();
        Assert.True(end > 0, $"No end of turn in {turn}");
        return turn[..end];
    }

    private sealed record Family(string Name, ToolCallSyntax Syntax, string[] EndMarkers, int MaxCalls, bool KeepsContent);
}
