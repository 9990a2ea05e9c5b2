using TokenGrid.Abstractions.Jobs;
using TokenGrid.Grains.Catalog;
using TokenGrid.Silo.OpenAi;
using TokenGrid.Silo.Problems;
using TokenGrid.Silo.Serving;

namespace TokenGrid.Silo.Apis;

/// <summary>OpenAI's chat completions: <c>POST /v1/chat/completions</c>, rendered through the model's chat template.</summary>
internal static class ChatCompletionsApi
{
    public static RouteGroupBuilder MapChatCompletionsApi(this RouteGroupBuilder v1)
    {
        v1.MapPost("/chat/completions", CreateChatCompletionAsync)
            .WithTags("OpenAI")
            .WithName("CreateChatCompletion")
            .WithSummary("Answers a conversation (OpenAI-compatible); streams server-sent events when stream is true.")
            .Accepts<ChatCompletionRequest>("application/json")
            .Produces<ChatCompletion>()
            .Produces(StatusCodes.Status200OK, contentType: "text/event-stream")
            .ProducesOpenAiProblems();
        return v1;
    }

    internal static async Task<IResult> CreateChatCompletionAsync(
        HttpContext http, GenerationPlanner planner, JobSubmitter submitter, TimeProvider time)
    {
        var request = await RequestJson.ReadAsync<ChatCompletionRequest>(http);
        RequestFieldPolicy.Check(request);
        if (request.TopLogprobs is not null && request.Logprobs != true)
        {
            throw new ApiProblemException(ApiProblems.BadRequest("top_logprobs requires logprobs to be true.", "invalid_value", "top_logprobs"));
        }

        if (request is { MaxTokens: { } legacy, MaxCompletionTokens: { } current } && legacy != current)
        {
            // One of the two would be ignored without a word: the caller says which it means.
            throw new ApiProblemException(ApiProblems.BadRequest(
                $"max_tokens ({legacy}) and max_completion_tokens ({current}) disagree: send one of them.", "invalid_value", "max_tokens"));
        }

        var messages = PromptParser.Messages(request.Messages);
        var fields = GenerationFields.From(
            request,
            request.MaxCompletionTokens ?? request.MaxTokens,
            request.MaxCompletionTokens is null ? "max_tokens" : "max_completion_tokens") with
        {
            N = request.N,
            TopLogprobs = request.Logprobs == true ? request.TopLogprobs ?? 0 : null,
        };
        var plan = planner.ForChat(fields, messages, new ToolRequest(request.Tools, request.ToolChoice, request.ParallelToolCalls));
        if (plan.Choices > 1)
        {
            return await CreateChoicesAsync(http, request, plan, submitter, time);
        }

        var (grain, job) = await submitter.SubmitAsync(http, plan, keepOutput: false);

        var id = "chatcmpl-" + job.Id;
        var created = time.GetUtcNow().ToUnixTimeSeconds();
        var model = plan.Model.Name;
        var logprobs = request.Logprobs == true ? new LogprobFormat(plan.Model) : null;
        if (request.Stream == true)
        {
            var usage = new StreamUsage(
                request.StreamOptions?.IncludeUsage == true, request.StreamOptions?.ContinuousUsageStats == true, plan.PromptTokens.Length);
            return new CompletionStream(grain, new ChatCompletionChunks(id, created, model, plan.Model.Fingerprint, logprobs, tools: plan.ToolReader()), usage);
        }

        var (output, final, reported) = await JobOutput.CollectAsync(grain, http);
        if (final.Status != JobStatus.Succeeded)
        {
            throw new JobFailedException(final);
        }

        var (message, finish) = ToolCallMessages.Read(plan.ToolReader(), output, final.FinishReason ?? "stop");
        return TypedResults.Ok(new ChatCompletion(
            id, created, model,
            [new ChatChoice(0, message, finish, logprobs?.Chat(reported))],
            Usage.Of(final.PromptTokens, final.CompletionTokens, final.CachedPromptTokens)) { SystemFingerprint = plan.Model.Fingerprint });
    }

    /// <summary><c>n</c> &gt; 1: one job per choice (see <see cref="JobSubmitter.SubmitChoicesAsync"/>).</summary>
    private static async Task<IResult> CreateChoicesAsync(
        HttpContext http, ChatCompletionRequest request, GenerationPlan plan, JobSubmitter submitter, TimeProvider time)
    {
        var jobs = await submitter.SubmitChoicesAsync(http, plan, keepOutput: false);
        var id = "chatcmpl-" + jobs[0].Job.Id;
        var created = time.GetUtcNow().ToUnixTimeSeconds();
        var model = plan.Model.Name;
        var logprobs = request.Logprobs == true ? new LogprobFormat(plan.Model) : null;
        var grains = jobs.Select(j => j.Grain).ToList();
        if (request.Stream == true)
        {
            var usage = new StreamUsage(
                request.StreamOptions?.IncludeUsage == true, request.StreamOptions?.ContinuousUsageStats == true, plan.PromptTokens.Length);
            return new ChoicesStream(grains, [.. grains.Select((_, i) => new ChatCompletionChunks(id, created, model, plan.Model.Fingerprint, logprobs, i, plan.ToolReader()))], usage);
        }

        var results = await ChoiceOutput.CollectAsync(grains, http);
        var choices = results.Select((r, i) =>
        {
            var (message, finish) = ToolCallMessages.Read(plan.ToolReader(), r.Text, r.Final.FinishReason ?? "stop");
            return new ChatChoice(i, message, finish, logprobs?.Chat(r.Logprobs));
        });
        return TypedResults.Ok(new ChatCompletion(id, created, model, [.. choices], ChoiceOutput.UsageOf(results.Select(r => r.Final)))
        {
            SystemFingerprint = plan.Model.Fingerprint,
        });
    }
}
