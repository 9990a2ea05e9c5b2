using System.Diagnostics;
using TokenGrid.Inference.Constraints;
using TokenGrid.Inference.Engine;
using TokenGrid.Inference.Sampling;

namespace TokenGrid.Benchmarks.Structured;

/// <summary>
/// The same batch of seeded requests, as users send them (OpenAI's default sampling: temperature 1, no top-p; the end
/// of sequence honoured), with and without a <c>response_format</c> schema. A constrained sequence ends when its value
/// is complete, so the sides compare in completion tokens per second, not requests.
/// </summary>
internal sealed class EngineComparison(InferenceEngine engine, IReadOnlyList<int[]> prompts, int maxTokens)
{
    /// <summary>One batch's outcome.</summary>
    public sealed record Batch(long Tokens, double Seconds, int Requests, int Complete)
    {
        public double TokensPerSecond => Tokens / Seconds;

        public double MeanTokens => (double)Tokens / Requests;
    }

    /// <summary>Runs every prompt at once under <paramref name="grammar"/> (null: unconstrained) and waits for all.</summary>
    public async Task<Batch> RunAsync(JsonGrammar? grammar)
    {
        var clock = Stopwatch.StartNew();
        var streams = prompts.Select((prompt, i) => engine.Submit(new GenerationRequest
        {
            PromptTokens = prompt,
            MaxTokens = maxTokens,
            IgnoreEndOfSequence = false,
            Sampling = new SamplingOptions { Temperature = 1f, Seed = (ulong)i },
            Constraint = grammar,
        }).Stream ?? throw new InvalidOperationException("The engine refused a benchmark request.")).ToList();
        var results = await Task.WhenAll(streams.Select(s => s.Completion));
        var seconds = clock.Elapsed.TotalSeconds;
        return new Batch(
            results.Sum(r => (long)r.CompletionTokens),
            seconds,
            results.Length,
            results.Count(r => r.FinishReason == FinishReason.Stop));
    }
}
