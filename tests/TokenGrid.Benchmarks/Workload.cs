using System.Diagnostics;
using TokenGrid.Inference.Models;

namespace TokenGrid.Benchmarks;

/// <summary>The prompts and the rate measurement the generation scenarios share, so their figures compare.</summary>
public static class Workload
{
    /// <summary>
    /// <paramref name="count"/> different prompts of <paramref name="length"/> tokens of the model's tokenizer. A model
    /// whose vocabulary is smaller than its tokenizer's (the small demo variant) gets the ids folded into its range.
    /// </summary>
    public static List<int[]> Prompts(DecoderModel model, int count, int length)
    {
        var text = string.Join(' ', Enumerable.Range(0, 200).Select(i => $"request {i} asks about tokens, budgets and GPUs number {i * 7}."));
        var vocab = model.Config.VocabSize;
        var ids = model.Tokenizer.Encode(text).Select(id => id % vocab).ToArray();
        return [.. Enumerable.Range(0, count).Select(i => ids.Skip(i * 5).Take(length).ToArray())];
    }

    /// <summary>Tokens per second of <paramref name="work"/>, which returns the tokens it generated.</summary>
    public static async Task<double> RateAsync(Func<Task<long>> work)
    {
        var clock = Stopwatch.StartNew();
        var tokens = await work();
        return tokens / clock.Elapsed.TotalSeconds;
    }
}
