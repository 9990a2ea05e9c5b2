using TokenGrid.Abstractions.Jobs;
using TokenGrid.Silo.OpenAi;
using TokenGrid.Silo.Problems;
using TokenGrid.Silo.Serving;

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
        RequestFieldPolicy.Check(request);
        if (request.Echo == true && request.Logprobs is not null)
        {
            // The echoed prompt's tokens would need their log probabilities too, which the engine does not compute.
            throw new ApiProblemException(ApiProblems.BadRequest(
                "echo together with logprobs is not supported: it needs prompt log probabilities.", "unsupported_parameter", "echo"));
        }

        var (text, tokens) = PromptParser.Prompt(request.Prompt);
        var fields = GenerationFields.From(request, request.MaxTokens, "max_tokens") with
        {
            N = request.N,
            TopLogprobs = request.Logprobs,
            TopLogprobsParam = "logprobs",
        };
        var plan = planner.ForPrompt(fields, text, tokens);
        if (plan.Choices > 1)
        {
            return await CreateChoicesAsync(http, request, plan, text, submitter, time);
        }

        var (grain, job) = await submitter.SubmitAsync(http, plan, keepOutput: false);

        var id = "cmpl-" + job.Id;
        var created = time.GetUtcNow().ToUnixTimeSeconds();
        var model = plan.Model.Name;
        var logprobs = request.Logprobs is null ? null : new LogprobFormat(plan.Model, plan.Output.SkipSpecialTokens);
        var echo = request.Echo == true ? text ?? plan.Model.Decode(plan.PromptTokens) : null;
        if (request.Stream == true)
        {
            var usage = new StreamUsage(
                request.StreamOptions?.IncludeUsage == true, request.StreamOptions?.ContinuousUsageStats == true, plan.PromptTokens.Length);
            return new CompletionStream(grain, new TextCompletionChunks(id, created, model, plan.Model.Fingerprint, logprobs, echo), usage);
        }

        var (output, final, reported) = await JobOutput.CollectAsync(grain, http);
        if (final.Status != JobStatus.Succeeded)
        {
            throw new JobFailedException(final);
        }

        var details = logprobs?.Legacy(reported, new TextOffsets());
        return TypedResults.Ok(new TextCompletion(
            id, created, model, [new TextChoice(echo + output, 0, final.FinishReason ?? "stop", details)], Usage.Of(final.PromptTokens, final.CompletionTokens, final.CachedPromptTokens))
        {
            SystemFingerprint = plan.Model.Fingerprint,
        });
    }

    /// <summary><c>n</c> &gt; 1: one job per choice (see <see cref="JobSubmitter.SubmitChoicesAsync"/>), each choice echoing the prompt when asked.</summary>
    private static async Task<IResult> CreateChoicesAsync(
        HttpContext http, CompletionRequest request, GenerationPlan plan, string? text, JobSubmitter submitter, TimeProvider time)
    {
        var jobs = await submitter.SubmitChoicesAsync(http, plan, keepOutput: false);
        var id = "cmpl-" + jobs[0].Job.Id;
        var created = time.GetUtcNow().ToUnixTimeSeconds();
        var model = plan.Model.Name;
        var logprobs = request.Logprobs is null ? null : new LogprobFormat(plan.Model, plan.Output.SkipSpecialTokens);
        var echo = request.Echo == true ? text ?? plan.Model.Decode(plan.PromptTokens) : null;
        var grains = jobs.Select(j => j.Grain).ToList();
        if (request.Stream == true)
        {
            var usage = new StreamUsage(
                request.StreamOptions?.IncludeUsage == true, request.StreamOptions?.ContinuousUsageStats == true, plan.PromptTokens.Length);
            return new ChoicesStream(grains, [.. grains.Select((_, i) => new TextCompletionChunks(id, created, model, plan.Model.Fingerprint, logprobs, echo, i))], usage);
        }

        var results = await ChoiceOutput.CollectAsync(grains, http);
        var choices = results.Select((r, i) =>
            new TextChoice(echo + r.Text, i, r.Final.FinishReason ?? "stop", logprobs?.Legacy(r.Logprobs, new TextOffsets())));
        return TypedResults.Ok(new TextCompletion(id, created, model, [.. choices], ChoiceOutput.UsageOf(results.Select(r => r.Final)))
        {
            SystemFingerprint = plan.Model.Fingerprint,
        });
    }
}
