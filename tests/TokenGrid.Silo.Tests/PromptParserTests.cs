using System.Text.Json;
using System.Text.Json.Nodes;
using TokenGrid.Silo.OpenAi;
using TokenGrid.Silo.Serving;

namespace TokenGrid.Silo.Tests;

/// <summary>How <c>messages</c> of a chat request reach the model's chat template, and how <c>prompt</c> is read in each of its forms.</summary>
public sealed class PromptParserTests
{
    private static ChatMessageRequest Message(string json) => JsonSerializer.Deserialize<ChatMessageRequest>(json, new JsonSerializerOptions(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
    })!;

    [Fact]
    public void Text_parts_are_joined_with_a_line_break_as_vLLM_joins_them()
    {
        var messages = PromptParser.Messages([
            Message("""{"role": "system", "content": [{"type": "text", "text": "Be brief."}, {"type": "text", "text": "Answer in French."}]}"""),
            Message("""{"role": "user", "content": [{"type": "text", "text": "Line one."}, {"type": "text", "text": "Line two."}]}"""),
            Message("""{"role": "user", "content": [{"type": "text", "text": "Alone"}]}"""),
        ]);

        Assert.Equal("Be brief.\nAnswer in French.", (string?)messages[0]["content"]);
        Assert.Equal("Line one.\nLine two.", (string?)messages[1]["content"]);
        Assert.Equal("Alone", (string?)messages[2]["content"]);
    }

    [Theory]
    [InlineData("""{"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}""")]
    [InlineData("""{"role": "assistant", "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}""")]
    public void An_assistant_message_that_only_calls_tools_keeps_null_content(string json)
    {
        var message = Assert.Single(PromptParser.Messages([Message(json)]));

        Assert.True(message.AsObject().TryGetPropertyValue("content", out var content));
        Assert.Null(content);
        Assert.Equal("f", (string?)message["tool_calls"]![0]!["function"]!["name"]);
    }

    [Fact]
    public void A_prompt_in_each_of_OpenAIs_four_forms_is_read_as_its_prompts()
    {
        foreach (var (json, expected) in new[]
        {
            ("\"One\"", "One"), ("[\"One\"]", "One"), ("[\"One\", \"Two\", \"\"]", "One|Two|"), ("[1, 2, 3]", "#1,2,3"),
            ("[[1, 2, 3]]", "#1,2,3"), ("[[1, 2], [3], []]", "#1,2|#3|#"),
        })
        {
            var prompts = PromptParser.Prompts(JsonDocument.Parse(json).RootElement);
            Assert.Equal(expected, string.Join('|', prompts.Select(p => p.Tokens is { } ids ? "#" + string.Join(',', ids) : p.Text)));
        }
    }
}
