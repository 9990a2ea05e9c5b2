using TokenGrid.Inference.DemoModel;
using TokenGrid.Inference.Engine;
using TokenGrid.Inference.Models;
using TokenGrid.Inference.Runtime;
using TokenGrid.Inference.Sampling;

namespace TokenGrid.Silo.Commands;

/// <summary><c>generate</c>: streams one completion through the engine, then prints usage and throughput.</summary>
internal static class GenerateCommand
{
    public static async Task<int> RunAsync(string[] args)
    {
        var line = new CommandLine(args);
        var prompt = line.Positional(0) ?? "The token office opened its doors and";
        var directory = line.String("model") ?? DemoModelBuilder.EnsureBuilt(DemoModelBuilder.DefaultCacheRoot, DemoModelSpec.Default);
        var provider = Enum.Parse<ExecutionProviderPreference>(line.String("provider") ?? "auto", ignoreCase: true);

        using var model = DecoderModel.Load(directory, new ModelLoadOptions { ExecutionProvider = provider });
        Console.Error.WriteLine($"model {model.Name} on {model.Provider}{(model.ProviderFallbackReason is { } why ? $" ({why})" : "")}");
        await using var engine = new InferenceEngine(model);

        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cancel.Cancel();
        };

        var submitted = engine.Submit(new GenerationRequest
        {
            PromptTokens = model.Tokenizer.Encode(prompt),
            MaxTokens = line.Int("max-tokens") ?? 64,
            StopSequences = line.String("stop") is { } stop ? [stop] : [],
            Sampling = new SamplingOptions
            {
                Temperature = line.Float("temperature") ?? 0f,
                TopP = line.Float("top-p") ?? 1f,
                TopK = line.Int("top-k") ?? 0,
                Seed = line.Int("seed") is { } seed ? (ulong)seed : null,
            },
        }, cancel.Token);
        if (submitted.Stream is not { } stream)
        {
            Console.Error.WriteLine($"refused ({submitted.Status}): {submitted.Error}");
            return 1;
        }

        Console.Write(prompt);
        await foreach (var token in stream)
        {
            Console.Write(token.Text);
        }

        var result = await stream.Completion;
        var rate = result.CompletionTokens / Math.Max(result.Elapsed.TotalSeconds, 1e-9);
        Console.WriteLine();
        Console.Error.WriteLine(
            $"finish={result.FinishReason} prompt_tokens={result.PromptTokens} completion_tokens={result.CompletionTokens} " +
            $"ttft={result.TimeToFirstToken?.TotalMilliseconds:F1}ms tokens/s={rate:F1}{(result.Error is { } e ? $" error={e}" : "")}");
        return result.FinishReason == FinishReason.Failed ? 1 : 0;
    }
}
