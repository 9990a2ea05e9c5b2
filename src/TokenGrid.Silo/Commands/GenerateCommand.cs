using System.CommandLine;
using TokenGrid.Inference.DemoModel;
using TokenGrid.Inference.Engine;
using TokenGrid.Inference.Models;
using TokenGrid.Inference.Runtime;
using TokenGrid.Inference.Sampling;

namespace TokenGrid.Silo.Commands;

/// <summary><c>generate</c>: streams one completion through the engine, then prints usage and throughput.</summary>
internal static class GenerateCommand
{
    /// <summary>The <c>generate "PROMPT" [options]</c> command.</summary>
    public static Command Create()
    {
        var prompt = new Argument<string>("prompt")
        {
            Description = "The prompt.",
            DefaultValueFactory = _ => "The token office opened its doors and",
        };
        var maxTokens = new Option<int>("--max-tokens") { Description = "Tokens to generate at most.", DefaultValueFactory = _ => 64 };
        var temperature = new Option<float>("--temperature") { Description = "Sampling temperature; 0 is greedy.", DefaultValueFactory = _ => 0f };
        var topP = new Option<float>("--top-p") { Description = "Nucleus sampling mass.", DefaultValueFactory = _ => 1f };
        var topK = new Option<int>("--top-k") { Description = "Sample among the K likeliest tokens; 0 is all.", DefaultValueFactory = _ => 0 };
        var seed = new Option<ulong?>("--seed") { Description = "Sampling seed. Default: a random one." };
        var stop = new Option<string?>("--stop") { Description = "Stop when the text contains TEXT.", HelpName = "TEXT" };
        var model = new Option<string?>("--model") { Description = "A model directory. Default: the demo model, built on first use.", HelpName = "DIR" };
        var modelFile = ModelFileOption.Create();
        var provider = ProviderOption.Create();
        var command = new Command("generate", "Streams a completion from the demo model (built on first use) or a model directory.")
        {
            prompt, maxTokens, temperature, topP, topK, seed, stop, model, modelFile, provider,
        };
        command.SetAction((result, cancellation) => RunAsync(
            result.GetRequiredValue(prompt),
            result.GetValue(model),
            result.GetValue(modelFile),
            result.GetValue(provider),
            new GenerationRequest
            {
                PromptTokens = [],
                MaxTokens = result.GetValue(maxTokens),
                StopSequences = result.GetValue(stop) is { } text ? [text] : [],
                Sampling = new SamplingOptions
                {
                    Temperature = result.GetValue(temperature),
                    TopP = result.GetValue(topP),
                    TopK = result.GetValue(topK),
                    Seed = result.GetValue(seed),
                },
            },
            result.InvocationConfiguration,
            cancellation));
        return command;
    }

    private static async Task<int> RunAsync(
        string prompt, string? directory, string? modelFile, ExecutionProviderPreference provider, GenerationRequest request, InvocationConfiguration console, CancellationToken cancellation)
    {
        if (modelFile is not null && directory is null)
        {
            console.Error.WriteLine("--model-file picks a file of the folder --model names; give --model too.");
            return 1;
        }

        directory ??= DemoModelBuilder.EnsureBuilt(DemoModelBuilder.DefaultCacheRoot, DemoModelSpec.Default);
        using var model = ModelsCommand.TryLoad(directory, modelFile, provider, console.Error);
        if (model is null)
        {
            return 1;
        }

        console.Error.WriteLine($"model {model.Name} on {model.Provider}{(model.ProviderFallbackReason is { } why ? $" ({why})" : "")}");
        await using var engine = new InferenceEngine(model);

        var submitted = engine.Submit(request with { PromptTokens = model.Tokenizer.Encode(prompt) }, cancellation);
        if (submitted.Stream is not { } stream)
        {
            console.Error.WriteLine($"refused ({submitted.Status}): {submitted.Error}");
            return 1;
        }

        console.Output.Write(prompt);
        await foreach (var token in stream)
        {
            console.Output.Write(token.Text);
        }

        var result = await stream.Completion;
        var rate = result.CompletionTokens / Math.Max(result.Elapsed.TotalSeconds, 1e-9);
        console.Output.WriteLine();
        console.Error.WriteLine(
            $"finish={result.FinishReason} prompt_tokens={result.PromptTokens} completion_tokens={result.CompletionTokens} " +
            $"ttft={result.TimeToFirstToken?.TotalMilliseconds:F1}ms tokens/s={rate:F1}{(result.Error is { } e ? $" error={e}" : "")}");
        return result.FinishReason == FinishReason.Failed ? 1 : 0;
    }
}
