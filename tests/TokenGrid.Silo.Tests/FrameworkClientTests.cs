using System.Net;
using System.Text.Json.Nodes;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests;

/// <summary>
/// A server whose demo model has room for a stream of 4,000 tokens: the stream that holds a tenant's only slot while a
/// framework retries its 429 must outlast the retries however fast the machine (400 tokens ran out within 3 s on CI's).
/// </summary>
public sealed class LongContextServerFixture() : SettingsServerFixture(new Dictionary<string, string>
{
    ["TokenGrid:Models:DemoSpec:ContextLength"] = "4096",
});

/// <summary>
/// The frameworks most applications call OpenAI through, pointed at TokenGrid as their documentation says and left at
/// their defaults: the Vercel AI SDK (tests/reference/ai-sdk.mjs) and LangChain JS (tests/reference/langchain.mjs). What a
/// tenant relies on: text, finish reasons and usage that match the ledger, our errors as the framework's own with our
/// message, retries that stop, and an aborted stream cancelling its job and charging only what it produced.
/// </summary>
public sealed class FrameworkClientTests(LongContextServerFixture fixture) : IClassFixture<LongContextServerFixture>
{
    private TokenGridServer Server => fixture.Server;

    [Fact]
    public async Task The_Vercel_AI_SDK_generates_streams_reports_usage_as_charged_maps_errors_retries_and_aborts()
    {
        var (tenant, key, limitedKey, abortTenant, abortKey) = await TenantsAsync();
        var results = await ReferenceTools.FrameworkAsync("ai-sdk.mjs", new Uri(Server.BaseAddress, "v1"), key, limitedKey, abortKey);
        await SettledAsync(key);

        var usages = new List<(int Prompt, int Completion)>();
        foreach (var name in new[] { "compatibleChat", "compatibleCompletion", "openaiChat", "openaiCompletion", "openaiResponses" })
        {
            foreach (var call in new[] { "whole", "stream" })
            {
                var result = Ok(results, name)[call]!;
                Assert.Equal("length", result["finish"]!.GetValue<string>());
                Assert.False(string.IsNullOrEmpty(result["text"]!.GetValue<string>()), $"{name}.{call}: no text");
                var usage = result["usage"]!;
                var (input, output) = (usage["inputTokens"]!.GetValue<int>(), usage["outputTokens"]!.GetValue<int>());
                Assert.Equal(8, output);
                Assert.Equal(input + output, usage["totalTokens"]!.GetValue<int>());
                if (call == "stream")
                {
                    Assert.Equal(output, result["totalUsage"]!["outputTokens"]!.GetValue<int>());
                }

                usages.Add((input, output));
            }
        }

        // Output.object with a schema: constrained decoding makes a value of it (a string of at most 12 characters).
        foreach (var name in new[] { "structured", "openaiStructured", "responsesStructured" })
        {
            Assert.InRange(Ok(results, name)["output"]!["answer"]!.GetValue<string>().Length, 0, 12);
            Assert.Equal("stop", Ok(results, name)["finish"]!.GetValue<string>());
            var usage = Ok(results, name)["usage"]!;
            usages.Add((usage["inputTokens"]!.GetValue<int>(), usage["outputTokens"]!.GetValue<int>()));
        }

        await AssertLedgerChargedAsync(tenant, usages);

        // Without includeUsage the provider asks for no usage (no stream_options), and gets none, as from OpenAI.
        Assert.Null(Ok(results, "compatibleDefaultStream")["usage"]!["outputTokens"]);

        Assert.Equal("The API key is invalid or has been revoked.", Failed(results, "badKey", 401, "invalid_api_key")["message"]!.GetValue<string>());
        Assert.Equal("model", Failed(results, "badModel", 404, "model_not_found")["param"]!.GetValue<string>());
        Assert.Equal("temperature", Failed(results, "badValue", 400, "invalid_value")["param"]!.GetValue<string>());
        Assert.All(new[] { "badKey", "badModel", "badValue" }, name =>
        {
            Assert.False(results[name]!["retryable"]!.GetValue<bool>());
            Assert.Equal(1, results[name]!["attempts"]!.GetValue<int>());
        });

        // Its default retries (2) honour our Retry-After of 1 s (its own backoff would wait 2 s, then 4 s) and stop.
        var limited = Failed(results, "rateLimited", 429, "concurrency_limit_exceeded");
        Assert.Equal(3, limited["attempts"]!.GetValue<int>());
        var sent = limited["sent"]!.AsArray();
        Assert.Equal(3, sent.Count);
        Assert.All(sent, s => Assert.Equal((429, "1"), (s!["status"]!.GetValue<int>(), s["retryAfter"]!.GetValue<string>())));
        // Each wait is at least the 1 s asked for; both together well under its own backoff's 2 + 4 s (the slack is the
        // replies' own latency on a busy machine).
        Assert.All(sent.Skip(1), s => Assert.True(s!["afterMs"]!.GetValue<int>() >= 950, $"retried after {s["afterMs"]} ms"));
        Assert.InRange(sent.Skip(1).Sum(s => s!["afterMs"]!.GetValue<int>()), 1900, 5500);

        Assert.Equal(3, Ok(results, "abort")["parts"]!.GetValue<int>());
        await Server.AssertAbortedAndChargedAsync(abortTenant, abortKey, 399);
    }

    [Fact]
    public async Task LangChain_invokes_streams_batches_reports_usage_as_charged_maps_errors_retries_and_aborts()
    {
        var (tenant, key, limitedKey, abortTenant, abortKey) = await TenantsAsync();
        var results = await ReferenceTools.FrameworkAsync("langchain.mjs", new Uri(Server.BaseAddress, "v1"), key, limitedKey, abortKey);
        await SettledAsync(key);

        var usages = new List<(int Prompt, int Completion)>();
        var replies = new[] { Ok(results, "invoke"), Ok(results, "stream") }.Concat(Ok(results, "batch")["replies"]!.AsArray().Select(r => r!.AsObject()));
        foreach (var reply in replies)
        {
            var usage = reply["usage"]!;
            var (input, output) = (usage["input_tokens"]!.GetValue<int>(), usage["output_tokens"]!.GetValue<int>());
            Assert.Equal(8, output);
            Assert.Equal(input + output, usage["total_tokens"]!.GetValue<int>());
            Assert.False(string.IsNullOrEmpty(reply["text"]!.GetValue<string>()));
            usages.Add((input, output));
        }

        Assert.Equal("length", Ok(results, "invoke")["finish"]!.GetValue<string>());
        Assert.Equal("length", Ok(results, "stream")["finish"]!.GetValue<string>());
        Assert.Equal(8, Ok(results, "invoke")["tokenUsage"]!["completionTokens"]!.GetValue<int>());
        Assert.InRange(Ok(results, "structured")["output"]!["answer"]!.GetValue<string>().Length, 0, 12);
        var structured = Ok(results, "structured")["usage"]!;
        usages.Add((structured["input_tokens"]!.GetValue<int>(), structured["output_tokens"]!.GetValue<int>()));

        // useResponsesApi: the same reply through POST /v1/responses, its usage read from the response.
        var responses = Ok(results, "responses");
        Assert.False(string.IsNullOrEmpty(responses["text"]!.GetValue<string>()));
        Assert.Equal(8, responses["usage"]!["output_tokens"]!.GetValue<int>());
        usages.Add((responses["usage"]!["input_tokens"]!.GetValue<int>(), responses["usage"]!["output_tokens"]!.GetValue<int>()));

        // The legacy LLM class: one prompt per call works, and so does generate() at its default batchSize (20 prompts a
        // request): 21 prompts are two requests, of 20 prompts and 1.
        Assert.False(string.IsNullOrEmpty(Ok(results, "llmInvoke")["text"]!.GetValue<string>()));
        Assert.False(string.IsNullOrEmpty(Ok(results, "llmStream")["text"]!.GetValue<string>()));
        var batched = Ok(results, "llmGenerateBatched");
        Assert.Equal([200, 200], batched["sent"]!.AsArray().Select(s => s!["status"]!.GetValue<int>()));
        Assert.Equal(21, batched["texts"]!.AsArray().Count);
        Assert.All(batched["texts"]!.AsArray(), g => Assert.False(string.IsNullOrEmpty(Assert.Single(g!.AsArray())!.GetValue<string>())));
        Assert.Equal(21 * 8, batched["tokenUsage"]!["completionTokens"]!.GetValue<int>());

        // With n = 2 it reads prompt i's choices from indexes 2i and 2i + 1: each echoes its own prompt.
        var choices = Ok(results, "llmGenerateChoices");
        var prompts = new[] { "Alpha", "Beta", "Gamma" };
        Assert.Equal(3, choices["texts"]!.AsArray().Count);
        for (var i = 0; i < 3; i++)
        {
            var texts = choices["texts"]![i]!.AsArray();
            Assert.Equal(2, texts.Count);
            Assert.All(texts, t => Assert.StartsWith(prompts[i], t!.GetValue<string>(), StringComparison.Ordinal));
        }

        var generated = Ok(results, "llmGenerate");
        Assert.Equal(2, generated["texts"]!.AsArray().Count);
        Assert.Equal(16, generated["tokenUsage"]!["completionTokens"]!.GetValue<int>());
        var reported = new[] { batched, choices, generated }.Select(r => r["tokenUsage"]!)
            .Select(u => (Prompt: u["promptTokens"]!.GetValue<int>(), Completion: u["completionTokens"]!.GetValue<int>())).ToList();

        // The legacy class's calls are charged as they reported: llmInvoke's and llmStream's 8 tokens each (prompts
        // unreported) and the generate() calls' usage exactly.
        var legacy = await Server.ChargedAsync(tenant);
        Assert.Equal(usages.Sum(u => u.Completion) + 8 + 8 + reported.Sum(u => u.Completion), legacy.Completion);
        Assert.Equal(6 * 4, reported[1].Completion);
        var unreported = legacy.Prompt - usages.Sum(u => u.Prompt) - reported.Sum(u => u.Prompt);
        Assert.Equal(2 * Server.DemoModel().Encode("Say something about tokens.").Length, unreported);

        Assert.Equal("The API key is invalid or has been revoked.", Failed(results, "badKey", 401, "invalid_api_key")["message"]!.GetValue<string>());
        Assert.Equal("model", Failed(results, "badModel", 404, "model_not_found")["param"]!.GetValue<string>());
        Assert.Equal("top_p", Failed(results, "badValue", 400, "invalid_value")["param"]!.GetValue<string>());

        // LangChain retries a 429 on its own backoff (maxRetries 1 here: its default is 6), and raises ours.
        var limited = Failed(results, "rateLimited", 429, "concurrency_limit_exceeded");
        Assert.Equal("RateLimitError", limited["kind"]!.GetValue<string>());
        Assert.Equal(2, limited["sent"]!.AsArray().Count);

        Assert.Equal((3, "AbortError"), (Ok(results, "abort")["chunks"]!.GetValue<int>(), Ok(results, "abort")["error"]!.GetValue<string>()));
        await Server.AssertAbortedAndChargedAsync(abortTenant, abortKey, 399);
    }

    private async Task<(string Tenant, string Key, string LimitedKey, string AbortTenant, string AbortKey)> TenantsAsync()
    {
        // A full batch of LangChain's legacy class (20 prompts) is 20 jobs admitted together: more than the default 16.
        var (tenant, key) = await Server.CreateTenantAsync(new { max_concurrent_jobs = 20 });
        var (_, limitedKey) = await Server.CreateTenantAsync(new { max_concurrent_jobs = 1 });
        var (abortTenant, abortKey) = await Server.CreateTenantAsync();
        return (tenant, key, limitedKey, abortTenant, abortKey);
    }

    // Every job of the tenant has ended and been settled (a stream's client may have its last chunk first).
    private async Task SettledAsync(string key)
    {
        using var client = Server.Client(key);
        var jobs = (await (await client.GetAsync("v1/jobs?limit=100")).ReadJsonAsync())["data"]!.AsArray();
        await client.AssertEveryJobEndedAndSettledAsync([.. jobs.Select(j => j!["id"]!.GetValue<string>())]);
    }

    // The tenant's ledger charged exactly the prompt and completion tokens the framework reported.
    private async Task AssertLedgerChargedAsync(string tenant, List<(int Prompt, int Completion)> reported)
    {
        var charged = await Server.ChargedAsync(tenant);
        Assert.Equal((reported.Sum(u => u.Prompt), reported.Sum(u => u.Completion)), charged);
    }

    private static JsonObject Ok(JsonObject results, string name)
    {
        var result = results[name]!.AsObject();
        Assert.False(result.ContainsKey("error") && result["error"] is JsonObject, $"{name}: {result.ToJsonString()}");
        return result;
    }

    private static JsonObject Failed(JsonObject results, string name, int status, string code)
    {
        var result = results[name]!.AsObject();
        Assert.True(result["status"]?.GetValue<int>() == status, $"{name}: {result.ToJsonString()}");
        Assert.Equal(code, result["code"]!.GetValue<string>());
        return result;
    }
}
