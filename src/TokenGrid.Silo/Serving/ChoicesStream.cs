using System.Threading.Channels;
using TokenGrid.Abstractions.Jobs;
using TokenGrid.Silo.OpenAi;
using TokenGrid.Silo.Problems;

namespace TokenGrid.Silo.Serving;

/// <summary>
/// Streams the choices of an <c>n</c> &gt; 1 request (one job each) as one OpenAI event stream, as OpenAI interleaves
/// them: every chunk carries its choice's <c>index</c>, each choice ends with its own chunk and finish reason as soon as
/// its job ends, and with <c>include_usage</c> one last chunk gives the usage of all of them (the prompt once, the
/// completions summed). Like <see cref="CompletionStream"/> it opens at the first generated text, so a request whose
/// choices fail before producing anything gets a plain problem reply, and keeps a connection whose jobs wait alive
/// (see <see cref="StreamStart"/>). When one choice fails the others are cancelled
/// and the stream ends with the error; when the client goes away every choice is cancelled. The choices of a legacy
/// completion's several prompts stream the same way, <paramref name="choicesPerPrompt"/> per prompt (0: one prompt), and
/// the usage counts each prompt once.
/// </summary>
internal sealed class ChoicesStream(IReadOnlyList<IJobGrain> jobs, IReadOnlyList<IChunkFormat> formats, StreamUsage usage, int choicesPerPrompt = 0) : IResult
{
    private readonly int[] _completionTokens = new int[jobs.Count];

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        var registrations = jobs.Select(job => JobOutput.CancelOnDisconnect(job, httpContext)).ToList();
        try
        {
            await StreamAsync(httpContext);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException && httpContext.RequestAborted.IsCancellationRequested)
        {
            // The client left mid-write; the registrations above have cancelled the jobs.
        }
        finally
        {
            registrations.ForEach(r => r.Dispose());
        }
    }

    private async Task StreamAsync(HttpContext httpContext)
    {
        var aborted = httpContext.RequestAborted;
        var logger = httpContext.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(ChoicesStream));
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(aborted);
        var events = Channel.CreateUnbounded<(int Index, JobEvent Event)>(new UnboundedChannelOptions { SingleReader = true });
        var pumps = Task.WhenAll(jobs.Select((job, index) => PumpAsync(job, index, events.Writer, logger, stop.Token)));
        _ = pumps.ContinueWith(_ => events.Writer.TryComplete(), TaskScheduler.Default);

        var start = new StreamStart(httpContext, formats, usage.SoFar(0));
        SseWriter? writer = null;
        // By choice, so that the usage is each prompt's choice 0's (as the whole reply and the ledger count it), whichever ends first.
        var finals = new JobInfo[jobs.Count];
        var finished = 0;
        await using var reader = events.Reader.ReadAllAsync(aborted).GetAsyncEnumerator();
        while (await start.WaitAsync(reader.MoveNextAsync()))
        {
            var (index, @event) = reader.Current;
            if (@event is { Kind: JobEventKind.Tokens } tokens)
            {
                _completionTokens[index] += tokens.Tokens;
                if (tokens is { Text.Length: > 0 } or { Logprobs.Length: > 0 })
                {
                    writer ??= await start.OpenAsync();
                    foreach (var chunk in formats[index].Text(tokens.Text ?? "", tokens.Logprobs, SoFar()))
                    {
                        await writer.WriteAsync(chunk, cancellationToken: aborted);
                    }
                }

                continue;
            }

            if (@event is not { Kind: JobEventKind.Status, Job: { IsFinished: true } final })
            {
                continue;
            }

            if (final.Status != JobStatus.Succeeded)
            {
                await stop.CancelAsync();
                await JobSubmitter.CancelAllAsync(jobs);
                if (start.Writer is not { } started)
                {
                    // Nothing sent yet: the exception handler answers with a plain problem.
                    throw new JobFailedException(final);
                }

                // Mid-stream (or after keep-alives): OpenAI's clients read an error object from the event stream.
                await started.WriteAsync(new { error = ApiProblems.ForJob(final).ToOpenAiError() }, cancellationToken: aborted);
                await started.WriteDoneAsync(aborted);
                return;
            }

            finished += finals[index] is null ? 1 : 0;
            finals[index] = final;
            _completionTokens[index] = final.CompletionTokens;
            writer ??= await start.OpenAsync();
            // The last choice to finish carries the whole usage, with the prefix cache's share, as one choice's finish does.
            var finishUsage = finished == jobs.Count && usage.Continuous ? ChoiceOutput.UsageOf(finals, choicesPerPrompt) : SoFar();
            foreach (var chunk in formats[index].Finish(final.FinishReason ?? "stop", finishUsage))
            {
                await writer.WriteAsync(chunk, cancellationToken: aborted);
            }

            if (finished == jobs.Count)
            {
                break;
            }
        }

        if (aborted.IsCancellationRequested)
        {
            return;
        }

        if (writer is not null && usage.Final && finished == jobs.Count)
        {
            await writer.WriteAsync(formats[0].Usage(ChoiceOutput.UsageOf(finals, choicesPerPrompt)), cancellationToken: aborted);
        }

        if (writer is not null)
        {
            await writer.WriteDoneAsync(aborted);
        }
    }

    /// <summary>Forwards one choice's events, ending with its final status (a failed one when its job could not be followed).</summary>
    private static async Task PumpAsync(IJobGrain job, int index, ChannelWriter<(int, JobEvent)> events, ILogger logger, CancellationToken cancellationToken)
    {
        JobInfo? final = null;
        try
        {
            await foreach (var @event in JobOutput.FollowAsync(job, 0, logger, cancellationToken))
            {
                await events.WriteAsync((index, @event), cancellationToken);
                if (@event is { Kind: JobEventKind.Status, Job: { IsFinished: true } ended })
                {
                    return;
                }
            }

            final = await job.GetAsync();
        }
        catch (Exception) when (cancellationToken.IsCancellationRequested)
        {
            return;
        }
        catch (Exception e)
        {
            final = Lost(job, e.Message);
        }

        final = final is { IsFinished: true } ? final : Lost(job, "The job disappeared.");
        events.TryWrite((index, new JobEvent(0, JobEventKind.Status, null, 0, final)));
    }

    private static JobInfo Lost(IJobGrain job, string error) =>
        new() { Id = job.GetPrimaryKeyString(), TenantId = "", Model = "", Status = JobStatus.Failed, Error = error };

    private Usage? SoFar() => usage.SoFar(_completionTokens.Sum());
}
