using System.ClientModel;
using System.Net;
using System.Text.Json.Nodes;
using OpenAI;
using OpenAI.Chat;
using TokenGrid.Inference.DemoModel;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests;

/// <summary>
/// Model folders laid out as exporters publish them, with real files someone else made: a Hugging Face Optimum export
/// (<c>config.json</c> and <c>generation_config.json</c>, no <c>genai_config.json</c>) carrying the real
/// <c>tokenizer.json</c> and <c>tokenizer_config.json</c> (with its chat template) of Llama 3.1, Qwen 3, Gemma 3,
/// Mistral Nemo, DeepSeek V3, InternLM 2 and ChatGLM 3. The graph is the demo model's, sized to each vocabulary; the weights are random, the
/// files around them are real. Chat
/// completions through the official OpenAI SDK must count exactly the prompt that Hugging Face's own tools make of the
/// conversation (@huggingface/jinja renders it, the tokenizers library tokenizes it), and a template's
/// <c>raise_exception</c> is a 400 carrying the template's message.
/// </summary>
public sealed partial class RealModelFolderTests(RealModelFolderTests.Fixture fixture) : IClassFixture<RealModelFolderTests.Fixture>
{
    private static readonly string[] s_families = ["llama3_1", "qwen3", "gemma3", "mistral_nemo", "deepseek_v3", "internlm2", "chatglm3"];

    public static TheoryData<string> Families => [.. s_families];

    [Theory]
    [MemberData(nameof(Families))]
    public async Task A_chat_counts_the_prompt_Hugging_Face_renders_with_the_models_own_template(string family)
    {
        var conversation = new JsonObject
        {
            ["messages"] = new JsonArray(
                new JsonObject { ["role"] = "user", ["content"] = "What does a token office do?" },
                new JsonObject { ["role"] = "assistant", ["content"] = "It meters tokens." },
                new JsonObject { ["role"] = "user", ["content"] = "And who reads the ledger? 账本 🧾" }),
        };
        var (_, ids) = await ReferenceTools.ChatPromptAsync(fixture.Folders[family], conversation);

        var chat = new OpenAIClient(new ApiKeyCredential(TokenGridServer.DemoKey), new OpenAIClientOptions { Endpoint = new Uri(fixture.Server.BaseAddress, "v1") })
            .GetChatClient(family);
        ChatCompletion completion = await chat.CompleteChatAsync(
            [new UserChatMessage("What does a token office do?"), new AssistantChatMessage("It meters tokens."), new UserChatMessage("And who reads the ledger? 账本 🧾")],
            new ChatCompletionOptions { MaxOutputTokenCount = 2, Temperature = 0 });

        Assert.Equal(ids.Length, completion.Usage.InputTokenCount);
        Assert.Equal(2, completion.Usage.OutputTokenCount);
    }

    [Fact]
    public async Task A_template_that_refuses_the_conversation_answers_400_with_its_message()
    {
        using var client = fixture.Server.Client(TokenGridServer.DemoKey);
        var response = await client.PostJsonAsync("v1/chat/completions", new
        {
            model = "gemma3",
            messages = new[] { new { role = "user", content = "One" }, new { role = "user", content = "Two" } },
            max_tokens = 2,
        });

        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal("Conversation roles must alternate user/assistant/user/assistant/...", (string)problem["detail"]!);
        Assert.Equal("messages", (string)problem["error"]!["param"]!);
    }

    [Fact]
    public async Task Tool_calls_and_tool_results_in_the_history_reach_the_template()
    {
        var call = new JsonObject { ["id"] = "call_1", ["type"] = "function", ["function"] = new JsonObject { ["name"] = "ledger_total", ["arguments"] = "{\"tenant\": \"acme\"}" } };
        var messages = new JsonArray(
            new JsonObject { ["role"] = "user", ["content"] = "What has acme spent?" },
            new JsonObject { ["role"] = "assistant", ["content"] = "", ["tool_calls"] = new JsonArray(call.DeepClone()) },
            new JsonObject { ["role"] = "tool", ["tool_call_id"] = "call_1", ["content"] = "1200 tokens" });
        using var client = fixture.Server.Client(TokenGridServer.DemoKey);
        var reply = await (await client.PostJsonAsync("v1/chat/completions", new JsonObject { ["model"] = "qwen3", ["messages"] = messages.DeepClone(), ["max_tokens"] = 1 })).ReadJsonAsync();

        // Qwen 3's template writes tool calls as <tool_call> JSON and tool results as <tool_response>; the count matches
        // only when both reached it as Hugging Face renders them.
        var (text, ids) = await ReferenceTools.ChatPromptAsync(fixture.Folders["qwen3"], new JsonObject { ["messages"] = ToHuggingFace(messages) });
        Assert.Contains("<tool_response>", text);
        Assert.Equal(ids.Length, (int)reply["usage"]!["prompt_tokens"]!);
    }

    /// <summary>transformers expects a tool call's arguments as an object; OpenAI clients send a JSON string.</summary>
    private static JsonArray ToHuggingFace(JsonArray messages)
    {
        var copy = (JsonArray)messages.DeepClone();
        foreach (var call in copy.SelectMany(m => m!["tool_calls"] as JsonArray ?? []))
        {
            var function = call!["function"]!;
            function["arguments"] = JsonNode.Parse((string)function["arguments"]!);
        }

        return copy;
    }

    /// <summary>One server serving the folders, built once for the class.</summary>
    public sealed class Fixture : IAsyncLifetime
    {
        private readonly string _root = Directory.CreateTempSubdirectory("tokengrid-real-folders-").FullName;

        public Dictionary<string, string> Folders { get; } = new(StringComparer.Ordinal);

        public TokenGridServer Server { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            var settings = new Dictionary<string, string>();
            var families = s_families;
            for (var i = 0; i < families.Length; i++)
            {
                Folders[families[i]] = await OptimumFolderAsync(families[i]);
                settings[$"TokenGrid:Models:Entries:{i}:Name"] = families[i];
                settings[$"TokenGrid:Models:Entries:{i}:Directory"] = Folders[families[i]];
            }

            Server = await TokenGridServer.StartAsync(settings);
        }

        public async Task DisposeAsync()
        {
            await Server.DisposeAsync();
            Directory.Delete(_root, recursive: true);
        }

        /// <summary>
        /// An Optimum-style folder: the demo graph with as many embedding rows as the tokenizer has ids, a Hugging Face
        /// <c>config.json</c> and <c>generation_config.json</c> as transformers writes them, and the family's real
        /// tokenizer files.
        /// </summary>
        private async Task<string> OptimumFolderAsync(string family)
        {
            var source = ReferenceTools.TokenizerFolder(family);
            var tokenizer = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(source, "tokenizer.json")))!;
            var vocab = Math.Max(
                tokenizer["model"]!["vocab"]!.AsObject().Max(kv => (int)kv.Value!),
                tokenizer["added_tokens"]!.AsArray().Select(t => (int)t!["id"]!).DefaultIfEmpty(0).Max()) + 1;
            var built = DemoModelBuilder.EnsureBuilt(Path.Combine(_root, "cache"),
                DemoModelSpec.Default with { Layers = 1, HiddenSize = 32, Heads = 2, ContextLength = 1024, VocabSize = vocab });

            var folder = Directory.CreateDirectory(Path.Combine(_root, family)).FullName;
            File.Copy(Path.Combine(built, "model.onnx"), Path.Combine(folder, "model.onnx"));
            File.Copy(Path.Combine(built, "model.onnx.data"), Path.Combine(folder, "model.onnx.data"));
            File.Copy(Path.Combine(source, "tokenizer.json"), Path.Combine(folder, "tokenizer.json"));
            File.Copy(Path.Combine(source, "tokenizer_config.json"), Path.Combine(folder, "tokenizer_config.json"));
            var eos = new JsonArray(Id(tokenizer, TokenText(source, "eos_token")));
            await File.WriteAllTextAsync(Path.Combine(folder, "config.json"), new JsonObject
            {
                ["architectures"] = new JsonArray("GPT2LMHeadModel"),
                ["model_type"] = "gpt2",
                ["n_embd"] = 32,
                ["n_head"] = 2,
                ["n_layer"] = 1,
                ["n_positions"] = 1024,
                ["vocab_size"] = vocab,
                ["eos_token_id"] = eos.DeepClone(),
                ["torch_dtype"] = "float32",
                ["transformers_version"] = "4.46.0",
                ["use_cache"] = true,
            }.ToJsonString());
            await File.WriteAllTextAsync(Path.Combine(folder, "generation_config.json"), new JsonObject
            {
                ["_from_model_config"] = true,
                ["eos_token_id"] = eos,
                ["transformers_version"] = "4.46.0",
            }.ToJsonString());
            return folder;
        }

        private static string TokenText(string folder, string name)
        {
            var node = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "tokenizer_config.json")))![name]!;
            return node is JsonObject o ? (string)o["content"]! : (string)node!;
        }

        /// <summary>The id of an added token, or of a vocabulary entry (ChatGLM 3's <c>&lt;/s&gt;</c> is one).</summary>
        private static int Id(JsonNode tokenizer, string content) =>
            tokenizer["added_tokens"]!.AsArray().Where(t => (string)t!["content"]! == content).Select(t => (int?)(int)t!["id"]!).SingleOrDefault()
            ?? (int)tokenizer["model"]!["vocab"]![content]!;
    }
}
