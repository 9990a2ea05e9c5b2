using TokenGrid.Abstractions.Jobs;
using TokenGrid.Silo.Generation;
using TokenGrid.Silo.OpenAi;
using TokenGrid.Silo.Problems;

namespace TokenGrid.Silo.Apis;

/// <summary>OpenAI's legacy text completions: <c>POST /v1/completions</c>.</summary>
internal static class CompletionsApi
{
    public static RouteGroupBuilder MapCompletionsApi(this RouteGroupBuilder v1)
    {
        v1.MapPost("/completions", CreateCompletionAsync)
            .WithTags("OpenAI")
            .WithName("CreateCompletion")
            .WithSummary("Completes a prompt (OpenAI-compatible); streams server-sent events when stream is true.")
            .Accepts<CompletionRequest>("application/json")
            .Produces<TextCompletion>()
            .Produces(StatusCodes.Status200OK, contentType: "text/event-stream")
            .ProducesOpenAiProblems();
        return v1;
    }

    internal static async Task<IResult> CreateCompletionAsync(
        HttpContext http, GenerationPlanner planner, JobSubmitter submitter, TimeProvider time)
    {
        var request = await RequestJson.ReadAsync<CompletionRequest>(http);
        var (text, tokens) = PromptParser.Prompt(request.Prompt);
        var plan = planner.ForPrompt(
            new GenerationFields(request.Model, request.MaxTokens, request.Temperature, request.TopP, null, request.Seed, request.Stop, request.N),
            text, tokens);
        var (grain, job) = await submitter.SubmitAsync(http, plan, keepOutput: false);

        var id = "cmpl-" + job.Id;
        var created = time.GetUtcNow().ToUnixTimeSeconds();
        var model = plan.Model.Name;
        if (request.Stream == true)
        {
            return new CompletionStream(grain, new TextCompletionChunks(id, created, model), request.StreamOptions?.IncludeUsage == true);
        }

        var (output, final) = await JobOutput.CollectAsync(grain, http);
        if (final.Status != JobStatus.Succeeded)
        {
            return ApiProblems.Result(JobOutput.Failure(final));
        }

        return TypedResults.Ok(new TextCompletion(
            id, created, model, [new TextChoice(output, 0, final.FinishReason ?? "stop")], Usage.Of(final.PromptTokens, final.CompletionTokens)));
    }
}
