using TokenGrid.Abstractions.Jobs;
using TokenGrid.Silo.OpenAi;
using TokenGrid.Silo.Problems;

namespace TokenGrid.Silo.Serving;

/// <summary>The chunk shapes of one OpenAI streaming endpoint; <c>usage</c> is given on every chunk with vLLM's <c>continuous_usage_stats</c>.</summary>
internal interface IChunkFormat
{
    /// <summary>The first chunks, sent when the stream opens (chat: the assistant role; text with echo: the prompt; a response: its start), or none.</summary>
    IReadOnlyList<object> Opening(Usage? usage);

    /// <summary>
    /// The chunks carrying generated text and, when asked for, its tokens' log probabilities: one, or (chat with tools)
    /// one per tool-call entry, as OpenAI streams them.
    /// </summary>
    IReadOnlyList<object> Text(string text, IReadOnlyList<TokenLogprob>? logprobs, Usage? usage);

    /// <summary>The chunks ending the choice, the last with its finish reason.</summary>
    IReadOnlyList<object> Finish(string finishReason, Usage? usage);

    /// <summary>The usage chunk (no choices), sent last when <c>stream_options.include_usage</c> is set.</summary>
    object Usage(Usage usage);

    /// <summary>
    /// The usage chunk, once what must happen before it is sent has happened (a stored response is stored before its
    /// last event, so a client that sends its items back at once finds them); by default <see cref="Usage"/>.
    /// </summary>
    ValueTask<object> UsageAsync(Usage usage) => ValueTask.FromResult(Usage(usage));

    /// <summary>What a stream that has started says when its job fails: OpenAI's error object, which the SDKs raise.</summary>
    IReadOnlyList<object> Failure(ApiProblem problem) => [new { error = problem.ToOpenAiError() }];

    /// <summary>Whether the stream ends with <c>data: [DONE]</c>, as chat and completion streams do (a response's ends with its last event).</summary>
    bool EndsWithDone => true;
}

/// <summary>How a stream reports usage.</summary>
/// <param name="Final">OpenAI's <c>include_usage</c>: a last chunk with the usage and no choices.</param>
/// <param name="Continuous">vLLM's <c>continuous_usage_stats</c>: every chunk carries the usage so far.</param>
/// <param name="PromptTokens">The prompt's tokens, for the usage so far.</param>
internal readonly record struct StreamUsage(bool Final, bool Continuous, int PromptTokens)
{
    /// <summary>
    /// A chunk's usage once <paramref name="completionTokens"/> were streamed: the running counts with
    /// <see cref="Continuous"/>; else <see cref="Usage.Pending"/> (<c>"usage": null</c>) before a final usage chunk, or
    /// nothing.
    /// </summary>
    public Usage? SoFar(int completionTokens) => Continuous ? Usage.Of(PromptTokens, completionTokens) : Pending;

    /// <summary>The usage of a chunk without running counts: <see cref="Usage.Pending"/> before a final usage chunk, else none.</summary>
    public Usage? Pending => Final ? Usage.Pending : null;
}

/// <summary>
/// Streams a running job as OpenAI server-sent events, ending with <c>data: [DONE]</c>. The stream opens at the first
/// generated text (or log probabilities), so a job that fails before producing anything still gets a plain problem
/// reply (thrown for the exception handler); a job still waiting after a short window gets the headers and keep-alive
/// comments instead, and a failure after them is an error event (see <see cref="StreamStart"/>). When the client goes
/// away the job is cancelled and only the tokens produced so far are charged.
/// </summary>
internal sealed class CompletionStream(IJobGrain job, IChunkFormat format, StreamUsage usage) : IResult
{
    private int _completionTokens;

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        using var _ = JobOutput.CancelOnDisconnect(job, httpContext);
        try
        {
            await StreamAsync(httpContext);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException && httpContext.RequestAborted.IsCancellationRequested)
        {
            // The client left mid-write; the registration above has cancelled the job.
        }
    }

    private async Task StreamAsync(HttpContext httpContext)
    {
        var aborted = httpContext.RequestAborted;
        var start = new StreamStart(httpContext, [format], usage.SoFar(0));
        SseWriter? writer = null;
        JobInfo? final = null;
        var logger = httpContext.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(CompletionStream));
        await using (var events = JobOutput.FollowAsync(job, 0, logger, aborted).GetAsyncEnumerator(aborted))
        {
            // Events that arrived together (one batch of the job's stream) go out with one flush; an event is never held
            // back waiting for another: the flush happens as soon as the next one is not already there.
            var unflushed = false;
            while (true)
            {
                var next = events.MoveNextAsync();
                if (unflushed && !next.IsCompleted)
                {
                    unflushed = false;
                    await FlushAsync(writer!, next, aborted);
                }

                if (!await start.WaitAsync(next) || aborted.IsCancellationRequested)
                {
                    break;
                }

                if (events.Current is { Kind: JobEventKind.Tokens } tokens)
                {
                    _completionTokens += tokens.Tokens;
                    if (tokens is { Text.Length: > 0 } or { Logprobs.Length: > 0 })
                    {
                        writer ??= await start.OpenAsync();
                        foreach (var chunk in format.Text(tokens.Text ?? "", tokens.Logprobs, SoFar()))
                        {
                            writer.Append(chunk);
                        }

                        unflushed = true;
                    }
                }
                else if (events.Current is { Kind: JobEventKind.Status, Job: { IsFinished: true } ended })
                {
                    final = ended;
                    break;
                }
            }

            if (unflushed && final is null && !aborted.IsCancellationRequested)
            {
                // The stream ended without its final event: send the text before asking the job how it ended.
                await writer!.FlushAsync(aborted);
            }
        }

        if (aborted.IsCancellationRequested)
        {
            return;
        }

        final ??= await job.GetAsync();
        if (aborted.IsCancellationRequested)
        {
            return;
        }

        if (final is not { Status: JobStatus.Succeeded })
        {
            if (start.Writer is not { } started)
            {
                // Nothing sent yet: the exception handler answers with a plain problem.
                throw final is null ? new ApiProblemException(ApiProblems.Unavailable("The job disappeared.")) : new JobFailedException(final);
            }

            // Mid-stream (or after keep-alives): OpenAI's clients read an error object from the event stream.
            var problem = final is null ? ApiProblems.Unavailable("The job disappeared.") : ApiProblems.ForJob(final);
            foreach (var failure in format.Failure(problem))
            {
                await started.WriteAsync(failure, cancellationToken: aborted);
            }

            await EndAsync(started, aborted);
            return;
        }

        writer ??= await start.OpenAsync();
        var total = OpenAi.Usage.Of(final.PromptTokens, final.CompletionTokens, final.CachedPromptTokens);
        foreach (var chunk in format.Finish(final.FinishReason ?? "stop", usage.Continuous ? total : usage.Pending))
        {
            await writer.WriteAsync(chunk, cancellationToken: aborted);
        }

        if (usage.Final)
        {
            await writer.WriteAsync(await format.UsageAsync(total), cancellationToken: aborted);
        }

        await EndAsync(writer, aborted);
    }

    private Task EndAsync(SseWriter writer, CancellationToken cancellationToken) =>
        format.EndsWithDone ? writer.WriteDoneAsync(cancellationToken) : writer.FlushAsync(cancellationToken);

    /// <summary>
    /// Flushes while the read of the next event is in flight; when the flush fails (the client left), lets that read end
    /// before the failure propagates, so the enumerator is never disposed mid-read.
    /// </summary>
    private static async Task FlushAsync(SseWriter writer, ValueTask<bool> reading, CancellationToken cancellationToken)
    {
        try
        {
            await writer.FlushAsync(cancellationToken);
        }
        catch
        {
            try
            {
                await reading;
            }
            catch (Exception) when (cancellationToken.IsCancellationRequested)
            {
                // The read was cancelled with the request.
            }

            throw;
        }
    }

    private Usage? SoFar() => usage.SoFar(_completionTokens);
}
