using System.Text.Json.Nodes;
using TokenGrid.Inference.Templates;
using TokenGrid.Inference.Tests.Tokenizers;

namespace TokenGrid.Inference.Tests.Templates;

/// <summary>Where templates come from, which one is used, and how OpenAI messages reach them.</summary>
public sealed class ChatTemplateSetTests
{
    private static readonly JsonNode[] User = [new JsonObject { ["role"] = "user", ["content"] = "Hi" }];

    [Fact]
    public void A_model_without_a_template_has_none()
    {
        using var dir = new TempDirectory();
        Assert.Null(ChatTemplateSet.Load(dir.Path));
        File.WriteAllText(dir.File("tokenizer_config.json"), """{"bos_token": "<s>"}""");
        Assert.Null(ChatTemplateSet.Load(dir.Path));
    }

    [Fact]
    public void Jinja_file_wins_over_json_file_which_wins_over_tokenizer_config()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("tokenizer_config.json"), """{"chat_template": "config", "bos_token": {"__type": "AddedToken", "content": "<s>"}, "eos_token": "</s>", "pad_token": null}""");
        Assert.Equal(("tokenizer_config.json", "config"), Render(dir));

        File.WriteAllText(dir.File("chat_template.json"), """{"chat_template": "json {{ bos_token }}"}""");
        Assert.Equal(("chat_template.json", "json <s>"), Render(dir));

        File.WriteAllText(dir.File("chat_template.jinja"), "jinja {{ eos_token }}{{ pad_token is defined }}\n");
        Assert.Equal(("chat_template.jinja", "jinja </s>false"), Render(dir));
    }

    [Fact]
    public void Named_templates_pick_tool_use_when_tools_are_given()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("tokenizer_config.json"), """
            {"chat_template": [{"name": "default", "template": "plain"}, {"name": "tool_use", "template": "tools: {{ tools | length }}"}, {"name": "rag", "template": "rag"}]}
            """);
        var renderer = new ChatPromptRenderer(ChatTemplateSet.Load(dir.Path)!);
        Assert.Equal("plain", renderer.Render(User));
        Assert.Equal("plain", renderer.Render(User, tools: []));
        Assert.Equal("tools: 1", renderer.Render(User, tools: [new JsonObject { ["type"] = "function" }]));
    }

    [Fact]
    public void Renderer_passes_the_generation_flag_and_extra_variables()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("chat_template.jinja"), "{{ messages[0].content }}|{{ add_generation_prompt }}|{{ enable_thinking }}|{{ tools is defined }}");
        var renderer = new ChatPromptRenderer(ChatTemplateSet.Load(dir.Path)!);
        Assert.Equal("Hi|false|false|false", renderer.Render(User, addGenerationPrompt: false, extraVariables: new Dictionary<string, JsonNode?> { ["enable_thinking"] = false }));
        Assert.Throws<ArgumentException>(() => renderer.Render(User, extraVariables: new Dictionary<string, JsonNode?> { ["messages"] = null }));
    }

    [Fact]
    public void Tool_call_arguments_strings_become_objects_unless_disabled()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("chat_template.jinja"), "{% for c in messages[0].tool_calls %}{{ c.function.arguments is mapping }}:{{ c.function.arguments | tojson }};{% endfor %}");
        var message = JsonNode.Parse("""
            {"role": "assistant", "content": null, "tool_calls": [
              {"id": "a", "type": "function", "function": {"name": "f", "arguments": "{\"city\": \"Paris\"}"}},
              {"id": "b", "type": "function", "function": {"name": "g", "arguments": "not json"}},
              {"id": "c", "type": "function", "function": {"name": "h", "arguments": "[1]"}}]}
            """)!;
        var templates = ChatTemplateSet.Load(dir.Path)!;
        Assert.Equal("true:{\"city\": \"Paris\"};false:\"not json\";false:\"[1]\";", new ChatPromptRenderer(templates).Render([message]));
        Assert.Equal("false:\"{\\\"city\\\": \\\"Paris\\\"}\";false:\"not json\";false:\"[1]\";",
            new ChatPromptRenderer(templates, new ChatPromptOptions { ParseToolCallArguments = false }).Render([message]));
        Assert.Equal("{\"city\": \"Paris\"}", message["tool_calls"]![0]!["function"]!["arguments"]!.GetValue<string>());
    }

    [Fact]
    public void Strftime_now_reads_the_injected_clock()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("chat_template.jinja"), "{{ strftime_now('%d %b %Y') }}");
        var renderer = new ChatPromptRenderer(ChatTemplateSet.Load(dir.Path)!, clock: new FixedClock(new DateTimeOffset(2025, 1, 9, 23, 0, 0, TimeSpan.Zero)));
        Assert.Equal("09 Jan 2025", renderer.Render(User));
    }

    private static (string Source, string Output) Render(TempDirectory dir)
    {
        var set = ChatTemplateSet.Load(dir.Path)!;
        return (set.Source, new ChatPromptRenderer(set).Render(User));
    }
}
