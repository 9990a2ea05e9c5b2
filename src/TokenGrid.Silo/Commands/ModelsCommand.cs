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
    /// <summary>Runs the command, writing the report to <paramref name="output"/> and failures to <paramref name="error"/>.</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error)
    {
        if (args is not ["check", .. var rest])
        {
            error.WriteLine("usage: models check DIR [--conversation FILE] [--max-tokens N] [--provider auto|cuda|cpu]");
            return 2;
        }

        var line = new CommandLine(rest);
        if (line.Positional(0) is not { } directory)
        {
            error.WriteLine("models check: give the model directory.");
            return 2;
        }

        var provider = Enum.Parse<ExecutionProviderPreference>(line.String("provider") ?? "auto", ignoreCase: true);
        DecoderModel model;
        try
        {
            model = DecoderModel.Load(directory, new ModelLoadOptions { ExecutionProvider = provider });
        }
        catch (Exception e) when (e is InvalidModelException or Microsoft.ML.OnnxRuntime.OnnxRuntimeException or IOException or UnauthorizedAccessException)
        {
            error.WriteLine($"not servable: {e.Message.ReplaceLineEndings(" ")}");
            return 1;
        }

        using (model)
        {
            ModelDescription.Write(output, model);
            int[] prompt;
            try
            {
                prompt = ChatPreview.Write(output, model, line.String("conversation"));
            }
            catch (ChatPreviewException e)
            {
                error.WriteLine($"chat template: {e.Message}");
                return 1;
            }

            return await SmokeRunAsync(output, model, prompt, line.Int("max-tokens") ?? 8);
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
