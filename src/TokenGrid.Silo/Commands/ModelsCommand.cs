using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using TokenGrid.Inference.Engine;
using TokenGrid.Inference.Models;
using TokenGrid.Inference.Runtime;
using TokenGrid.Inference.Sampling;

namespace TokenGrid.Silo.Commands;

/// <summary>
/// <c>models check DIR</c>: tells a platform engineer what TokenGrid sees in a model folder, the way the silo will read
/// it: the layout, the names and element types it will feed, the key/value cache shape, the tokenizer family, the chat
/// template with a rendered sample conversation (the exact prompt text and its token ids), then a short greedy run with
/// its tokens per second. A folder the silo could not serve ends with one line saying why and exit code 1.
/// </summary>
internal static class ModelsCommand
{
    /// <summary>The <c>models</c> command with its <c>check DIR</c> subcommand.</summary>
    public static Command Create()
    {
        var directory = new Argument<string>("DIR") { Description = "The model folder." };
        var conversation = new Option<string?>("--conversation")
        {
            Description = "An OpenAI messages JSON file to render. Default: a built-in sample conversation.",
            HelpName = "FILE",
        };
        var maxTokens = new Option<int>("--max-tokens") { Description = "Tokens in the greedy run.", DefaultValueFactory = _ => 8 };
        var modelFile = ModelFileOption.Create();
        var provider = ProviderOption.Create();
        var check = new Command("check", "Shows what TokenGrid sees in a model folder: layout, inputs, key/value cache, tokenizer, the chat template "
            + "rendered to the exact prompt and its token ids, and a short greedy run with its tokens per second.")
        {
            directory, conversation, maxTokens, provider, modelFile,
        };
        check.SetAction(result => CheckAsync(
            result.GetRequiredValue(directory), result.GetValue(modelFile), result.GetValue(conversation), result.GetValue(maxTokens), result.GetValue(provider),
            result.InvocationConfiguration.Output, result.InvocationConfiguration.Error));
        return new Command("models", "Model folders.") { check };
    }

    /// <summary>
    /// Loads a model folder for a command, or says in one line why it is not servable (a folder that is not a model, a
    /// provider that was required and is missing, a file it cannot read): null then, and the command exits with 1.
    /// </summary>
    internal static DecoderModel? TryLoad(string directory, string? modelFile, ExecutionProviderPreference provider, TextWriter error)
    {
        try
        {
            return DecoderModel.Load(directory, new ModelLoadOptions { ExecutionProvider = provider, ModelFile = modelFile });
        }
        catch (Exception e) when (e is InvalidModelException or Microsoft.ML.OnnxRuntime.OnnxRuntimeException or ExecutionProviderUnavailableException
            or IOException or UnauthorizedAccessException)
        {
            error.WriteLine($"not servable: {e.Message.ReplaceLineEndings(" ")}");
            return null;
        }
    }

    private static async Task<int> CheckAsync(
        string directory, string? modelFile, string? conversation, int maxTokens, ExecutionProviderPreference provider, TextWriter output, TextWriter error)
    {
        if (TryLoad(directory, modelFile, provider, error) is not { } model)
        {
            return 1;
        }

        using (model)
        {
            ModelDescription.Write(output, model);
            int[] prompt;
            try
            {
                prompt = ChatPreview.Write(output, model, conversation);
            }
            catch (ChatPreviewException e)
            {
                error.WriteLine($"chat template: {e.Message}");
                return 1;
            }

            return await SmokeRunAsync(output, model, prompt, maxTokens);
        }
    }

    private static async Task<int> SmokeRunAsync(TextWriter output, DecoderModel model, int[] prompt, int maxTokens)
    {
        output.WriteLine();
        output.WriteLine($"greedy run ({maxTokens} tokens after the rendered prompt):");
        await using var engine = new InferenceEngine(model);
        var started = Stopwatch.GetTimestamp();
        var submitted = engine.Submit(new GenerationRequest
        {
            PromptTokens = prompt,
            MaxTokens = maxTokens,
            Sampling = new SamplingOptions { Temperature = 0f },
        }, CancellationToken.None);
        if (submitted.Stream is not { } stream)
        {
            output.WriteLine($"  refused ({submitted.Status}): {submitted.Error}");
            return 1;
        }

        var ids = new List<int>();
        var text = new System.Text.StringBuilder();
        await foreach (var token in stream)
        {
            ids.Add(token.TokenId);
            text.Append(token.Text);
        }

        var result = await stream.Completion;
        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        output.WriteLine($"  text:   {Quote(text.ToString())}");
        output.WriteLine($"  ids:    [{string.Join(", ", ids)}]");
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  finish: {result.FinishReason}; prompt {result.PromptTokens} tokens, {result.CompletionTokens} generated in {seconds:F2} s " +
            $"({result.CompletionTokens / Math.Max(result.Elapsed.TotalSeconds, 1e-9):F1} tokens/s decoding, time to first token {result.TimeToFirstToken?.TotalMilliseconds:F0} ms)"));
        return result.FinishReason == FinishReason.Failed ? 1 : 0;
    }

    /// <summary>Text shown on one line: control characters escaped, as JSON would.</summary>
    internal static string Quote(string text) => System.Text.Json.JsonSerializer.Serialize(text,
        new System.Text.Json.JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
}
