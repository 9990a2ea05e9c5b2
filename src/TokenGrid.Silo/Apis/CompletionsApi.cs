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

        var prompts = PromptParser.Prompts(request.Prompt);
        var fields = GenerationFields.From(request, request.MaxTokens, "max_tokens") with
        {
            N = request.N,
            TopLogprobs = request.Logprobs,
            TopLogprobsParam = "logprobs",
        };
        var plans = planner.ForPrompts(fields, prompts);
        if (plans.Count > 1 || plans[0].Choices > 1)
        {
            return await CreateChoicesAsync(http, request, plans, [.. prompts.Select(EchoText)], submitter, time);
        }

        var plan = plans[0];
        var text = EchoText(prompts[0]);

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

    /// <summary>
    /// <c>n</c> &gt; 1, or several prompts: one job per choice (see <see cref="JobSubmitter.SubmitPromptsAsync"/>),
    /// prompt i's choice j at index <c>i × n + j</c> as OpenAI numbers them, each choice echoing its own prompt when asked.
    /// </summary>
    private static async Task<IResult> CreateChoicesAsync(
        HttpContext http, CompletionRequest request, IReadOnlyList<GenerationPlan> plans, IReadOnlyList<string?> texts, JobSubmitter submitter, TimeProvider time)
    {
        var jobs = await submitter.SubmitPromptsAsync(http, plans, keepOutput: false);
        var id = "cmpl-" + jobs[0].Job.Id;
        var created = time.GetUtcNow().ToUnixTimeSeconds();
        var (model, n) = (plans[0].Model, plans[0].Choices);
        var logprobs = request.Logprobs is null ? null : new LogprobFormat(model, plans[0].Output.SkipSpecialTokens);
        var echoes = plans.Select((plan, p) => request.Echo == true ? texts[p] ?? model.Decode(plan.PromptTokens) : null).ToList();
        var grains = jobs.Select(j => j.Grain).ToList();
        if (request.Stream == true)
        {
            var usage = new StreamUsage(
                request.StreamOptions?.IncludeUsage == true, request.StreamOptions?.ContinuousUsageStats == true, plans.Sum(p => p.PromptTokens.Length));
            return new ChoicesStream(
                grains, [.. grains.Select((_, i) => new TextCompletionChunks(id, created, model.Name, model.Fingerprint, logprobs, echoes[i / n], i))], usage, n);
        }

        var results = await ChoiceOutput.CollectAsync(grains, http);
        var choices = results.Select((r, i) =>
            new TextChoice(echoes[i / n] + r.Text, i, r.Final.FinishReason ?? "stop", logprobs?.Legacy(r.Logprobs, new TextOffsets())));
        return TypedResults.Ok(new TextCompletion(id, created, model.Name, [.. choices], ChoiceOutput.UsageOf(results.Select(r => r.Final), n))
        {
            SystemFingerprint = model.Fingerprint,
        });
    }

    /// <summary>
    /// What <c>echo</c> shows of a prompt: its text, or null to decode its ids; an empty list of ids shows nothing (not
    /// the beginning-of-sequence token the model starts from in its place).
    /// </summary>
    private static string? EchoText((string? Text, int[]? Tokens) prompt) => prompt.Tokens is [] ? "" : prompt.Text;
}
