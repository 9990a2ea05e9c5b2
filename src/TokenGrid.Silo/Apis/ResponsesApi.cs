using System.Text.Json;
using TokenGrid.Abstractions.Jobs;
using TokenGrid.Silo.OpenAi;
using TokenGrid.Silo.Problems;
using TokenGrid.Silo.Serving;

namespace TokenGrid.Silo.Apis;

/// <summary>
/// OpenAI's Responses API: <c>POST /v1/responses</c>. A response is a chat job whose request and reply are translated:
/// the input becomes chat messages (<see cref="ResponseInput"/>), the plan, admission, streaming and settlement are chat's,
/// and the reply is a <c>response</c> object or its typed events (<see cref="ResponseChunks"/>). Retrieving a response
/// (<c>GET /v1/responses/{id}</c>) is not served: its job is, under <c>/v1/jobs</c>.
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
        return v1;
    }

    internal static async Task<IResult> CreateResponseAsync(
        HttpContext http, GenerationPlanner planner, JobSubmitter submitter, TimeProvider time)
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
        };
        var plan = planner.ForChat(fields, ResponseInput.Messages(request.Instructions, request.Input), promptParam: "input");
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
            Metadata = request.OtherFields?.GetValueOrDefault("metadata") is { ValueKind: JsonValueKind.Object } metadata ? metadata.Clone() : ResponseObject.NoMetadata,
        };
        if (request.Stream == true)
        {
            // The last event carries the usage, as a final usage chunk would: the format makes it response.completed.
            return new CompletionStream(grain, new ResponseChunks(start), new StreamUsage(Final: true, Continuous: false, plan.PromptTokens.Length));
        }

        var (output, final, _) = await JobOutput.CollectAsync(grain, http);
        if (final.Status != JobStatus.Succeeded)
        {
            throw new JobFailedException(final);
        }

        var usage = Usage.Of(final.PromptTokens, final.CompletionTokens, final.CachedPromptTokens);
        return TypedResults.Ok(ResponseReplies.Finished(start, output, final.FinishReason ?? "stop", usage));
    }
}
