using System.Text.Json;
using TokenGrid.Abstractions.Jobs;
using TokenGrid.Silo.OpenAi;
using TokenGrid.Silo.Problems;
using TokenGrid.Silo.Serving;

namespace TokenGrid.Silo.Apis;

/// <summary>
/// OpenAI's Responses API: <c>POST /v1/responses</c>. A response is a chat job whose request and reply are translated:
/// the input becomes chat messages (<see cref="ResponseInput"/>), the plan, admission, streaming and settlement are chat's,
/// and the reply is a <c>response</c> object or its typed events (<see cref="ResponseChunks"/>). With <c>store</c> true
/// (the default) a response that ends completed or incomplete is kept for its tenant (<see cref="ResponseStore"/>):
/// its output items can be sent back as <c>item_reference</c>, <c>GET /v1/responses/{id}</c> reads it and
/// <c>DELETE /v1/responses/{id}</c> deletes it.
/// </summary>
internal static class ResponsesApi
{
    public static RouteGroupBuilder MapResponsesApi(this RouteGroupBuilder v1)
    {
        v1.MapPost("/responses", CreateResponseAsync)
            .WithTags("OpenAI")
            .WithName("CreateResponse")
            .WithSummary("Answers input as OpenAI's Responses API does; streams typed server-sent events when stream is true.")
            .Accepts<ResponseRequest>("application/json")
            .Produces<ResponseObject>()
            .Produces(StatusCodes.Status200OK, contentType: "text/event-stream")
            .ProducesOpenAiProblems();
        v1.MapGet("/responses/{id}", GetResponseAsync)
            .WithTags("OpenAI")
            .WithName("GetResponse")
            .WithSummary("A stored response (created with store true, kept 30 days) as POST /v1/responses returned it; 404 for another tenant's.")
            .Produces<ResponseObject>()
            .ProducesProblem(StatusCodes.Status404NotFound);
        v1.MapDelete("/responses/{id}", DeleteResponseAsync)
            .WithTags("OpenAI")
            .WithName("DeleteResponse")
            .WithSummary("Deletes a stored response of the caller's: its items can no longer be referenced nor it retrieved. 404 for another tenant's.")
            .Produces<ResponseDeleted>()
            .ProducesProblem(StatusCodes.Status404NotFound);
        return v1;
    }

    internal static async Task<IResult> GetResponseAsync(HttpContext http, ResponseStore store, string id) =>
        await store.FindAsync(http, id) is { } json
            ? TypedResults.Text(json, "application/json")
            : throw new ApiProblemException(ApiProblems.ResponseNotFound(id));

    internal static async Task<Ok<ResponseDeleted>> DeleteResponseAsync(HttpContext http, ResponseStore store, string id) =>
        await store.DeleteAsync(http, id)
            ? TypedResults.Ok(new ResponseDeleted(id))
            : throw new ApiProblemException(ApiProblems.ResponseNotFound(id));

    internal static async Task<IResult> CreateResponseAsync(
        HttpContext http, GenerationPlanner planner, JobSubmitter submitter, ResponseStore store, TimeProvider time)
    {
        var request = await RequestJson.ReadAsync<ResponseRequest>(http);
        ResponseFieldPolicy.Check(request);
        var fields = new GenerationFields
        {
            Model = request.Model,
            MaxTokens = request.MaxOutputTokens,
            MaxTokensParam = "max_output_tokens",
            Temperature = request.Temperature,
            TopP = request.TopP,
            User = request.User,
            TextFormat = request.Text,
            TopLogprobs = ResponseFieldPolicy.IncludesLogprobs(request.Include) ? request.TopLogprobs ?? 0 : null,
        };
        if (fields.TopLogprobs is null && request.TopLogprobs is > 0)
        {
            throw new ApiProblemException(ApiProblems.BadRequest(
                "top_logprobs requires include: [\"message.output_text.logprobs\"], without which a response carries no log probabilities.", "invalid_value", "top_logprobs"));
        }

        var plan = planner.ForChat(
            fields,
            ResponseInput.Messages(request.Instructions, await store.ExpandReferencesAsync(http, request.Input)),
            ToolsOf(request),
            promptParam: "input");
        var tools = plan.ToolReader();
        if (tools is not null && fields.TopLogprobs is not null)
        {
            // Which of a chunk's tokens went into a call and which into the text is not known to the reader.
            throw new ApiProblemException(ApiProblems.BadRequest(
                "message.output_text.logprobs cannot be combined with tools that may be called (tool_choice auto, required or a function): send tool_choice none, or ask without include.",
                "unsupported_parameter",
                "include"));
        }

        var logprobs = fields.TopLogprobs is null ? null : new LogprobFormat(plan.Model);
        var (grain, job) = await submitter.SubmitAsync(http, plan, keepOutput: false);

        var start = new ResponseObject(ResponseIds.Of(job.Id), time.GetUtcNow().ToUnixTimeSeconds(), "in_progress", plan.Model.Name, [], null)
        {
            Instructions = request.Instructions,
            MaxOutputTokens = request.MaxOutputTokens,
            Temperature = plan.Sampling.Temperature,
            TopP = plan.Sampling.TopP,
            Text = request.Text is { ValueKind: JsonValueKind.Object } text && text.TryGetProperty("format", out var format) && format.ValueKind == JsonValueKind.Object
                ? new ResponseText(format.Clone()) : ResponseText.Plain,
            User = request.User,
            Tools = request.Tools.ValueKind == JsonValueKind.Array ? request.Tools.Clone() : ResponseObject.NoTools,
            ToolChoice = request.ToolChoice.ValueKind is JsonValueKind.String or JsonValueKind.Object ? request.ToolChoice.Clone() : ResponseObject.AutoChoice,
            ParallelToolCalls = request.ParallelToolCalls ?? true,
            TopLogprobs = request.TopLogprobs ?? 0,
            Store = request.Store ?? true,
            Metadata = request.OtherFields?.GetValueOrDefault("metadata") is { ValueKind: JsonValueKind.Object } metadata ? metadata.Clone() : ResponseObject.NoMetadata,
        };
        if (request.Stream == true)
        {
            // The last event carries the usage, as a final usage chunk would: the format makes it response.completed.
            return new CompletionStream(grain, new ResponseChunks(start, tools, logprobs, response => store.StoreAsync(http, response)), new StreamUsage(Final: true, Continuous: false, plan.PromptTokens.Length));
        }

        var (output, final, reported) = await JobOutput.CollectAsync(grain, http);
        if (final.Status != JobStatus.Succeeded)
        {
            throw new JobFailedException(final);
        }

        var usage = Usage.Of(final.PromptTokens, final.CompletionTokens, final.CachedPromptTokens);
        var response = ResponseReplies.Finished(start, output, reported, tools, logprobs, final.FinishReason ?? "stop", usage);
        await store.StoreAsync(http, response);
        return TypedResults.Ok(response);
    }

    /// <summary>
    /// The request's tools for the chat path (flat, the Responses API's layout), or null without any: <c>tools</c> absent
    /// or empty, with which <c>tool_choice</c> <c>auto</c> and <c>none</c> and any <c>parallel_tool_calls</c> mean
    /// nothing (as OpenAI takes them) and a choice that needs a tool is a 400 naming <c>tool_choice</c>.
    /// </summary>
    private static ToolRequest? ToolsOf(ResponseRequest request)
    {
        if (request.Tools.ValueKind is not (JsonValueKind.Undefined or JsonValueKind.Null) && !(request.Tools.ValueKind == JsonValueKind.Array && request.Tools.GetArrayLength() == 0))
        {
            return new ToolRequest(request.Tools, request.ToolChoice, request.ParallelToolCalls, Flat: true);
        }

        return request.ToolChoice.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null
            || (request.ToolChoice.ValueKind == JsonValueKind.String && request.ToolChoice.GetString() is "auto" or "none")
            ? null
            : throw new ApiProblemException(ApiProblems.BadRequest(
                "tool_choice needs tools: without any, only auto and none are taken (and mean no call).", "invalid_value", "tool_choice"));
    }
}
