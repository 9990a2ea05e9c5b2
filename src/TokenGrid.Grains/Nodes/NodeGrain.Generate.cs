using TokenGrid.Inference.Constraints;
using System.Runtime.CompilerServices;
using System.Text;
using TokenGrid.Abstractions.Jobs;
using TokenGrid.Abstractions.Nodes;
using TokenGrid.Grains.Telemetry;
using TokenGrid.Inference.Engine;
using TokenGrid.Inference.Sampling;

namespace TokenGrid.Grains.Nodes;

public sealed partial class NodeGrain
{
    /// <summary>Most tokens relayed in one chunk; tokens already produced are coalesced up to this.</summary>
    private const int MaxTokensPerChunk = 64;

    /// <inheritdoc />
    // Orleans cancels the token given to GetAsyncEnumerator when the caller disposes or cancels the enumeration.
    public IAsyncEnumerable<GenerationChunk> GenerateAsync(GenerationSpec spec) => GenerateCoreAsync(spec, CancellationToken.None);

    private async IAsyncEnumerable<GenerationChunk> GenerateCoreAsync(GenerationSpec spec, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var (lease, refusal) = _device.Draining
            ? (null, $"Node '{Id}' is draining: it takes no new sequences.")
            : await _device.Models.AcquireAsync(spec.Model, spec.ModelFingerprint);
        if (lease is null)
        {
            LogNotTaken(logger, Id, spec.JobId, refusal!);
            yield return Refused(spec, refusal!);
            yield break;
        }

        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var submitted = Submit(lease, spec, cancel.Token);
        if (submitted.Stream is not { } stream)
        {
            LogRefused(logger, Id, spec.JobId, submitted.Status, submitted.Error);
            yield return Refused(spec, submitted.Error ?? $"The node refused the sequence ({submitted.Status}).");
            yield break;
        }

        // The lease and the outstanding tokens are returned when the sequence has left the engine, whoever stops reading.
        var ticket = _device.BeginSequence(stream.PromptTokens, stream.MaxTokens);
        _ = stream.Completion.ContinueWith(
            static (_, state) =>
            {
                var (held, counted) = ((ModelLease, SequenceTicket))state!;
                held.Release();
                counted.End();
            },
            (lease, ticket),
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);

        IAsyncEnumerator<GeneratedToken>? tokens = null;
        Task<bool>? reading = null;
        using var span = TokenGridTracing.StartGeneration(spec.JobId, spec.Model, Id, spec.PromptTokens.Length);
        try
        {
            var first = true;
            var pacer = new StreamPacer(options.Value.StreamInterval, TimeProvider.System);
            var text = new StringBuilder();
            var ids = new List<int>(MaxTokensPerChunk);
            var logprobs = spec.Output?.TopLogprobs is null ? null : new List<TokenLogprob>(MaxTokensPerChunk);
            tokens = stream.GetAsyncEnumerator(cancel.Token);
            var hasToken = await tokens.MoveNextAsync();
            while (hasToken)
            {
                int? cached = null;
                if (first)
                {
                    first = false;
                    cached = stream.CachedPromptTokens;
                    // A choice that forked from a sibling's prompt cache prefilled nothing.
                    instruments.OnPromptProcessed(spec.Model, Id, stream.PromptShared ? 0 : spec.PromptTokens.Length);
                    TokenGridTracing.OnFirstToken(span);
                }

                // Coalesce the tokens the engine has already produced, and those it produces while the stream interval
                // since the last chunk is still open (see StreamPacer). The chunk waits out the interval once rather
                // than waking for each token; a read still pending after it is left running while the chunk goes out.
                text.Clear();
                ids.Clear();
                logprobs?.Clear();
                var count = 0;
                do
                {
                    text.Append(tokens.Current.Text);
                    ids.Add(tokens.Current.TokenId);
                    logprobs?.Add(ToLogprob(tokens.Current));
                    count++;
                    var next = tokens.MoveNextAsync();
                    if (next.IsCompletedSuccessfully)
                    {
                        hasToken = next.Result;
                        continue;
                    }

                    var pending = next.AsTask();
                    if (count < MaxTokensPerChunk)
                    {
                        await pacer.WaitAsync(stream.Completion, cancel.Token);
                    }

                    if (pending.IsCompleted)
                    {
                        hasToken = await pending;
                    }
                    else
                    {
                        reading = pending;
                    }
                }
                while (reading is null && hasToken && count < MaxTokensPerChunk);

                ticket.OnTokens(count);
                instruments.OnTokensGenerated(spec.Model, Id, count);
                pacer.OnSent();
                yield return new GenerationChunk(text.ToString(), count, null, [.. ids], logprobs is null ? null : [.. logprobs], cached);
                if (reading is not null)
                {
                    hasToken = await reading;
                    reading = null;
                }
            }

            var result = await stream.Completion;
            TokenGridTracing.OnLastToken(span, ToFinishReason(result.FinishReason), result.CompletionTokens);

            // Before the final chunk, so a caller that goes on to ask for another model finds this one idle.
            lease.Release();
            ticket.End();
            yield return new GenerationChunk("", 0, new GenerationFinal(
                ToFinishReason(result.FinishReason), result.PromptTokens, result.CompletionTokens, result.Error, Refused: false, result.CachedPromptTokens));
        }
        finally
        {
            // The caller stopped reading (or the sequence ended): the engine frees the slot at its next step.
            cancel.Cancel();
            await CloseAsync(tokens, reading);
        }
    }

    /// <summary>Lets a read still in flight end (it is cancelled by now), then disposes the token enumerator.</summary>
    private static async ValueTask CloseAsync(IAsyncEnumerator<GeneratedToken>? tokens, Task<bool>? reading)
    {
        if (reading is not null)
        {
            try
            {
                await reading;
            }
            catch (OperationCanceledException)
            {
                // Expected: the read was cancelled with the sequence.
            }
        }

        if (tokens is not null)
        {
            await tokens.DisposeAsync();
        }
    }

    /// <summary>Queues the sequence on the leased model's engine; returns the lease at once when the engine does not take it.</summary>
    private static SubmitResult Submit(ModelLease lease, GenerationSpec spec, CancellationToken cancellationToken)
    {
        try
        {
            var submitted = lease.Engine.Submit(ToRequest(spec), cancellationToken);
            if (submitted.Stream is null)
            {
                lease.Release();
            }

            return submitted;
        }
        catch
        {
            lease.Release();
            throw;
        }
    }

    /// <summary>The engine's request for <paramref name="spec"/>: every sampling and output option, field for field.</summary>
    internal static GenerationRequest ToRequest(GenerationSpec spec)
    {
        var output = spec.Output ?? JobOutputOptions.None;
        var sampling = spec.Sampling;
        return new()
        {
            PromptTokens = spec.PromptTokens,
            MaxTokens = spec.MaxTokens,
            StopSequences = spec.Stop,
            TemplateStopSequences = spec.TemplateStop ?? [],
            Sampling = new SamplingOptions
            {
                Temperature = sampling.Temperature,
                TopP = sampling.TopP,
                TopK = sampling.TopK,
                Seed = sampling.Seed,
                MinP = sampling.MinP,
                PresencePenalty = sampling.PresencePenalty,
                FrequencyPenalty = sampling.FrequencyPenalty,
                RepetitionPenalty = sampling.RepetitionPenalty,
                LogitBias = sampling.LogitBias ?? new Dictionary<int, float>(),
            },
            MinTokens = output.MinTokens,
            StopTokenIds = output.StopTokenIds ?? [],
            TopLogprobs = output.TopLogprobs,
            IncludeStopSequenceInOutput = output.IncludeStopSequence,
            IgnoreEndOfSequence = output.IgnoreEndOfSequence,
            SkipSpecialTokens = output.SkipSpecialTokens,
            ResumedOutputTokens = spec.ResumedOutputTokens,
            ForkKey = spec.ForkKey,
            Constraint = spec.OutputSchema is { } schema ? JsonGrammar.Compile(schema) : null,
            ConstraintTrigger = spec.OutputSchemaTrigger,
            ConstraintRepeats = spec.OutputSchemaRepeats,
            PrefixCacheScope = spec.PrefixCacheScope,
        };
    }

    /// <summary>
    /// The token's log probabilities as the job contract carries them. An engine that did not report them (it predates
    /// the request field) gives NaN, which the API shows as null rather than a made-up figure.
    /// </summary>
    private static TokenLogprob ToLogprob(GeneratedToken token) => token.Logprobs is { } reported
        ? new TokenLogprob(token.TokenId, reported.Logprob, [.. reported.Top.Select(t => new TokenAlternative(t.TokenId, t.Logprob))])
        : new TokenLogprob(token.TokenId, float.NaN, []);

    private static GenerationChunk Refused(GenerationSpec spec, string error) =>
        new("", 0, new GenerationFinal("failed", spec.PromptTokens.Length, 0, error, Refused: true));

    private static string ToFinishReason(FinishReason reason) => reason switch
    {
        FinishReason.Stop => "stop",
        FinishReason.Length => "length",
        FinishReason.Cancelled => "cancelled",
        _ => "failed",
    };
}
