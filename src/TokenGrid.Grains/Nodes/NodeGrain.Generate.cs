using System.Runtime.CompilerServices;
using System.Text;
using TokenGrid.Abstractions.Nodes;
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
        if (!_device.Engines.TryGetValue(spec.Model, out var engine))
        {
            yield return Refused(spec, $"Node '{Id}' does not serve model '{spec.Model}'.");
            yield break;
        }

        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var submitted = engine.Submit(ToRequest(spec), cancel.Token);
        if (submitted.Stream is not { } stream)
        {
            LogRefused(logger, Id, spec.JobId, submitted.Status, submitted.Error);
            yield return Refused(spec, submitted.Error ?? $"The node refused the sequence ({submitted.Status}).");
            yield break;
        }

        IAsyncEnumerator<GeneratedToken>? tokens = null;
        Task<bool>? reading = null;
        try
        {
            var first = true;
            var text = new StringBuilder();
            tokens = stream.GetAsyncEnumerator(cancel.Token);
            var hasToken = await tokens.MoveNextAsync();
            while (hasToken)
            {
                if (first)
                {
                    first = false;
                    instruments.OnPromptProcessed(spec.Model, Id, spec.PromptTokens.Length);
                }

                // Coalesce the tokens the engine has already produced, but never wait for more: a read that has to
                // wait is left running while the chunk goes out.
                text.Clear();
                var count = 0;
                do
                {
                    text.Append(tokens.Current.Text);
                    count++;
                    var next = tokens.MoveNextAsync();
                    if (next.IsCompletedSuccessfully)
                    {
                        hasToken = next.Result;
                    }
                    else
                    {
                        reading = next.AsTask();
                    }
                }
                while (reading is null && hasToken && count < MaxTokensPerChunk);

                instruments.OnTokensGenerated(spec.Model, Id, count);
                yield return new GenerationChunk(text.ToString(), count, null);
                if (reading is not null)
                {
                    hasToken = await reading;
                    reading = null;
                }
            }

            var result = await stream.Completion;
            yield return new GenerationChunk("", 0, new GenerationFinal(
                ToFinishReason(result.FinishReason), result.PromptTokens, result.CompletionTokens, result.Error, Refused: false));
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

    private static GenerationRequest ToRequest(GenerationSpec spec) => new()
    {
        PromptTokens = spec.PromptTokens,
        MaxTokens = spec.MaxTokens,
        StopSequences = spec.Stop,
        Sampling = new SamplingOptions
        {
            Temperature = spec.Sampling.Temperature,
            TopP = spec.Sampling.TopP,
            TopK = spec.Sampling.TopK,
            Seed = spec.Sampling.Seed,
        },
    };

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
