using System.ClientModel;
using System.Text;
using System.Text.Json;
using OpenAI;
using OpenAI.Chat;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests;

/// <summary>
/// OpenAI's structured outputs through the official .NET SDK and plain HTTP, on the demo model: its random weights write
/// no JSON of their own, so every valid output here is the constraint's doing.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class StructuredOutputTests(ServerFixture fixture)
{
    private const string CitySchema = """
        {"type": "object", "properties": {"city": {"type": "string", "maxLength": 16}, "population": {"type": "integer", "minimum": 0},
         "coastal": {"type": "boolean"}, "tags": {"type": "array", "items": {"enum": ["port", "capital", "old"]}, "maxItems": 3}},
         "required": ["city", "population", "coastal", "tags"], "additionalProperties": false}
        """;

    private TokenGridServer Server => fixture.Server;

    private ChatClient Chat() =>
        new OpenAIClient(new ApiKeyCredential(TokenGridServer.DemoKey), new OpenAIClientOptions { Endpoint = new Uri(Server.BaseAddress, "v1") })
            .GetChatClient(TokenGridServer.Model);

    private static ChatCompletionOptions Options(int maxTokens = 200) => new()
    {
        MaxOutputTokenCount = maxTokens,
        ResponseFormat = ChatResponseFormat.CreateJsonSchemaFormat("city", BinaryData.FromString(CitySchema), jsonSchemaIsStrict: true),
    };

    private static void AssertCity(string text)
    {
        using var json = JsonDocument.Parse(text);
        var root = json.RootElement;
        Assert.Equal(["city", "coastal", "population", "tags"], root.EnumerateObject().Select(p => p.Name).Order());
        Assert.InRange(root.GetProperty("city").GetString()!.EnumerateRunes().Count(), 0, 16);
        Assert.True(root.GetProperty("population").GetInt64() >= 0);
        Assert.All(root.GetProperty("tags").EnumerateArray(), t => Assert.Contains(t.GetString(), (string[])["port", "capital", "old"]));
    }

    [Fact]
    public async Task Sdk_json_schema_reply_is_a_value_of_the_schema()
    {
        for (var seed = 0; seed < 3; seed++)
        {
            var options = Options();
#pragma warning disable OPENAI001 // Seed is marked experimental in the SDK; the wire field is OpenAI's seed.
            options.Seed = seed;
#pragma warning restore OPENAI001
            ChatCompletion reply = await Chat().CompleteChatAsync([new UserChatMessage("Describe a city as JSON.")], options);
            Assert.Equal(ChatFinishReason.Stop, reply.FinishReason);
            AssertCity(reply.Content[0].Text);
        }
    }

    [Fact]
    public async Task Sdk_streamed_json_schema_reply_is_a_value_of_the_schema()
    {
        var text = new StringBuilder();
        ChatFinishReason? finish = null;
        await foreach (var update in Chat().CompleteChatStreamingAsync([new UserChatMessage("A city, please.")], Options()))
        {
            foreach (var part in update.ContentUpdate)
            {
                text.Append(part.Text);
            }

            finish ??= update.FinishReason;
        }

        Assert.Equal(ChatFinishReason.Stop, finish);
        AssertCity(text.ToString());
    }

    [Fact]
    public async Task Json_object_mode_gives_one_object_on_both_endpoints()
    {
        var options = new ChatCompletionOptions { MaxOutputTokenCount = 80, ResponseFormat = ChatResponseFormat.CreateJsonObjectFormat() };
        ChatCompletion reply = await Chat().CompleteChatAsync([new UserChatMessage("JSON, please.")], options);
        using (var json = JsonDocument.Parse(reply.Content[0].Text))
        {
            Assert.Equal(JsonValueKind.Object, json.RootElement.ValueKind);
        }

        using var client = Server.Client(TokenGridServer.DemoKey);
        var response = await client.PostJsonAsync("v1/completions", new
        {
            model = TokenGridServer.Model,
            prompt = "{",
            max_tokens = 80,
            response_format = new { type = "json_object" },
        });
        var body = await response.ReadJsonAsync();
        using var completion = JsonDocument.Parse(body["choices"]![0]!["text"]!.GetValue<string>());
        Assert.Equal(JsonValueKind.Object, completion.RootElement.ValueKind);
    }

    [Fact]
    public async Task Max_tokens_running_out_first_is_finish_reason_length()
    {
        var options = new ChatCompletionOptions
        {
            MaxOutputTokenCount = 4,
            ResponseFormat = ChatResponseFormat.CreateJsonSchemaFormat(
                "long", BinaryData.FromString("""{"type": "object", "properties": {"a": {"type": "string", "minLength": 40}}, "required": ["a"]}""")),
        };
        ChatCompletion reply = await Chat().CompleteChatAsync([new UserChatMessage("Go.")], options);
        Assert.Equal(ChatFinishReason.Length, reply.FinishReason);
        Assert.Equal(4, reply.Usage.OutputTokenCount);
    }

    [Theory]
    [InlineData("""{"type": "object", "patternProperties": {"^x": {}}}""", "patternProperties")]
    [InlineData("""{"type": "number", "multipleOf": 3}""", "multipleOf")]
    [InlineData("""{"$ref": "https://example.com/s.json"}""", "$ref")]
    [InlineData("""{"type": "object", "properties": {"a": {"not": {}}}}""", "not")]
    public async Task A_schema_that_cannot_be_enforced_is_400_naming_the_keyword(string schema, string keyword)
    {
        var problem = await PostProblemAsync($$$"""{"type": "json_schema", "json_schema": {"name": "s", "schema": {{{schema}}}}}""");
        Assert.Equal("response_format.json_schema.schema", problem["error"]!["param"]!.GetValue<string>());
        Assert.Equal("unsupported_schema", problem["error"]!["code"]!.GetValue<string>());
        Assert.Contains(keyword, problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"type": "xml"}""", "response_format.type")]
    [InlineData("""{"type": "json_schema"}""", "response_format.json_schema")]
    [InlineData("""{"type": "json_schema", "json_schema": {"schema": {}}}""", "response_format.json_schema.name")]
    [InlineData("""{"type": "json_schema", "json_schema": {"name": "a b", "schema": {}}}""", "response_format.json_schema.name")]
    [InlineData("""{"type": "json_schema", "json_schema": {"name": "s", "schema": 3}}""", "response_format.json_schema.schema")]
    [InlineData("""{"type": "json_schema", "json_schema": {"name": "s", "strict": "yes", "schema": {}}}""", "response_format.json_schema.strict")]
    [InlineData("\"json\"", "response_format")]
    public async Task A_malformed_response_format_is_400_naming_the_field(string format, string param)
    {
        var problem = await PostProblemAsync(format);
        Assert.Equal(param, problem["error"]!["param"]!.GetValue<string>());
    }

    private async Task<System.Text.Json.Nodes.JsonObject> PostProblemAsync(string format)
    {
        using var client = Server.Client(TokenGridServer.DemoKey);
        var body = $$"""{"model": "{{TokenGridServer.Model}}", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 8, "response_format": {{format}}}""";
        var response = await client.PostAsync("v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"));
        return await response.AssertProblemAsync(System.Net.HttpStatusCode.BadRequest);
    }
}
