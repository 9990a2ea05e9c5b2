using System.ClientModel;
using System.Text.Json.Nodes;
using OpenAI;
using OpenAI.Responses;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests;

/// <summary>
/// Stored responses (<c>store</c>, true by default as OpenAI's): a response that ended is kept for its tenant, its output
/// items can be sent back as <c>item_reference</c>, and <c>GET /v1/responses/{id}</c> reads it, through the Vercel AI
/// SDK's default <c>openai(model)</c> (tests/reference/ai-sdk.mjs --stored), the <c>openai</c> npm client
/// (openai-responses.mjs --stored) and the .NET SDK's <see cref="ResponsesClient"/>. Another tenant reaches none of it.
/// </summary>
public sealed class StoredResponsesTests(LongContextServerFixture fixture) : IClassFixture<LongContextServerFixture>
{
    private TokenGridServer Server => fixture.Server;

    [Fact]
    public async Task The_ai_sdk_default_provider_sends_a_first_turns_text_back_by_reference_and_the_second_turn_runs()
    {
        var (_, key) = await Server.CreateTenantAsync();
        var results = await ReferenceTools.StoredResponsesAsync("ai-sdk.mjs", new Uri(Server.BaseAddress, "v1"), key);

        var turns = Ok(results, "turns");
        // The SDK sent the first reply as an item_reference to its message item (msg_ and the response's hex digits), not as text.
        var reference = Assert.Single(turns["secondInput"]!.AsArray(), i => i!["type"]?.GetValue<string>() == "item_reference")!;
        Assert.Equal("msg_" + Text(turns["first"]!, "id")["resp_".Length..], reference["id"]!.GetValue<string>());
        Assert.False(string.IsNullOrEmpty(turns["second"]!["text"]!.GetValue<string>()));
        Assert.Equal(6, turns["second"]!["usage"]!["outputTokens"]!.GetValue<int>());
    }

    [Fact]
    public async Task The_node_client_references_retrieves_and_another_tenant_reaches_nothing()
    {
        var (_, key) = await Server.CreateTenantAsync();
        var (_, otherKey) = await Server.CreateTenantAsync();
        var results = await ReferenceTools.StoredResponsesAsync("openai-responses.mjs", new Uri(Server.BaseAddress, "v1"), key, otherKey);

        var first = Ok(results, "first");
        Assert.True(first["store"]!.GetValue<bool>());
        // The reference expands to the stored message: the same prompt as the text written out, token for token.
        var referenced = Ok(results, "referenced");
        var written = Ok(results, "written");
        Assert.Equal(written["usage"]!["input_tokens"]!.GetValue<int>(), referenced["usage"]!["input_tokens"]!.GetValue<int>());
        Assert.Equal(Text(written, "output_text"), Text(referenced, "output_text"));

        // Retrieved as the POST returned it, whole or streamed.
        Assert.True(JsonNode.DeepEquals(first, Ok(results, "retrieved")), results["retrieved"]!.ToJsonString());
        var streamed = Ok(results, "streamed");
        Assert.Equal(Text(streamed["final"]!, "id"), Text(streamed["retrieved"]!, "id"));
        Assert.Equal(Text(streamed["final"]!, "output_text"), Text(streamed["retrieved"]!, "output_text"));
        Assert.Equal("incomplete", Text(streamed["retrieved"]!, "status"));

        // store: false keeps nothing; another tenant's ids and unknown ones are a 404 and a 400 as missing ones are.
        var unstored = Ok(results, "unstored");
        Assert.False(unstored["store"]!.GetValue<bool>());
        AssertFailed(unstored["retrieve"]!, 404, "response_not_found", "response_id");
        AssertFailed(unstored["reference"]!, 400, "invalid_value", "input[1].id");
        var other = Ok(results, "otherTenant");
        AssertFailed(other["retrieve"]!, 404, "response_not_found", "response_id");
        AssertFailed(other["reference"]!, 400, "invalid_value", "input[1].id");
        AssertFailed(results["unknown"]!, 400, "invalid_value", "input[1].id");

        // Deleted by its tenant only, once; then it is gone for retrieval and reference alike.
        var deleted = Ok(results, "deleted");
        AssertFailed(deleted["other"]!, 404, "response_not_found", "response_id");
        Assert.Equal((Text(first, "id"), "response.deleted", true), (Text(deleted["deleted"]!, "id"), Text(deleted["deleted"]!, "object"), deleted["deleted"]!["deleted"]!.GetValue<bool>()));
        AssertFailed(deleted["again"]!, 404, "response_not_found", "response_id");
        AssertFailed(deleted["retrieve"]!, 404, "response_not_found", "response_id");
        AssertFailed(deleted["reference"]!, 400, "invalid_value", "input[1].id");
    }

#pragma warning disable OPENAI001 // The .NET SDK's Responses client is marked experimental.
    [Fact]
    public async Task The_dotnet_sdk_gets_a_stored_response_and_not_an_unstored_one()
    {
        var (_, key) = await Server.CreateTenantAsync();
        var responses = new OpenAIClient(new ApiKeyCredential(key), new OpenAIClientOptions { Endpoint = new Uri(Server.BaseAddress, "v1") })
            .GetResponsesClient();
        CreateResponseOptions Options() => new(TokenGridServer.Model, [ResponseItem.CreateUserMessageItem("Say something about tokens.")])
        {
            MaxOutputTokenCount = 4,
            Temperature = 0,
        };

        ResponseResult created = await responses.CreateResponseAsync(Options());
        ResponseResult got = await responses.GetResponseAsync(created.Id);
        Assert.Equal((created.Id, created.Status, created.GetOutputText(), created.Usage.InputTokenCount), (got.Id, got.Status, got.GetOutputText(), got.Usage.InputTokenCount));

        var unstored = Options();
        unstored.StoredOutputEnabled = false;
        ResponseResult notKept = await responses.CreateResponseAsync(unstored);
        var missing = await Assert.ThrowsAsync<ClientResultException>(() => responses.GetResponseAsync(notKept.Id));
        Assert.Equal(404, missing.Status);

        ResponseDeletionResult deleted = await responses.DeleteResponseAsync(created.Id);
        Assert.Equal((created.Id, true), (deleted.ResponseId, deleted.Deleted));
        Assert.Equal(404, (await Assert.ThrowsAsync<ClientResultException>(() => responses.GetResponseAsync(created.Id))).Status);
    }
#pragma warning restore OPENAI001

    private static string Text(JsonNode node, string name) => node[name]!.GetValue<string>();

    private static JsonObject Ok(JsonObject results, string name)
    {
        var result = results[name]!.AsObject();
        Assert.False(result["error"] is JsonObject, $"{name}: {result.ToJsonString()}");
        return result;
    }

    private static void AssertFailed(JsonNode failure, int status, string code, string param) =>
        Assert.Equal((status, code, param), (failure["status"]!.GetValue<int>(), failure["code"]!.GetValue<string>(), failure["param"]!.GetValue<string>()));
}
