using System.Globalization;
using Microsoft.ML.OnnxRuntime;
using TokenGrid.Inference.Models;

namespace TokenGrid.Silo.Commands;

/// <summary>The part of <c>models check</c> that describes the folder: layout, fed names and types, cache, tokenizer.</summary>
internal static class ModelDescription
{
    public static void Write(TextWriter output, DecoderModel model)
    {
        var config = model.Config;
        var signature = model.Signature;
        var inputs = model.Session.InputMetadata;
        var genai = File.Exists(Path.Combine(config.Directory, ModelConfigReader.GenAiConfigFile));
        output.WriteLine($"model folder: {config.Directory}");
        output.WriteLine($"  decoder:    {Path.GetRelativePath(config.Directory, config.ModelPath)}{ExternalData(config.ModelPath)}");
        output.WriteLine($"  read from:  {(genai ? ModelConfigReader.GenAiConfigFile : "the graph's inputs and outputs, with config.json")}");
        output.WriteLine($"  provider:   {model.Provider}{(model.ProviderFallbackReason is { } why ? $" ({why})" : "")}");
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  limits:     context {config.ContextLength} tokens, vocabulary {config.VocabSize}"));
        output.WriteLine($"  eos ids:    [{string.Join(", ", config.EosTokenIds)}]; bos id: {config.BosTokenId?.ToString(CultureInfo.InvariantCulture) ?? "none"}");

        output.WriteLine();
        output.WriteLine("inputs TokenGrid feeds:");
        Fed(output, config.Io.InputIds, signature.IdType.ToString(), "[batch, tokens]");
        Fed(output, config.Io.AttentionMask, signature.MaskType.ToString(), "[batch, past + tokens]");
        if (config.Io.PositionIds is { } positions && signature.PositionType is { } positionType)
        {
            Fed(output, positions, positionType.ToString(), "[batch, tokens]");
        }

        if (signature.UseCacheBranch is { } branch)
        {
            Fed(output, branch, "Bool", "[1] (false on the first step, then true)");
        }

        var cacheShape = config.Io.Layout == KvLayout.CombinedPast
            ? $"[2, batch, {config.KvHeads}, past, {config.HeadSize}]"
            : $"[batch, {config.KvHeads}, past, {config.HeadSize}]";
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  cache:      {config.Layers} layers × {signature.PastNames.Count / config.Layers} tensor(s) {cacheShape} of {signature.KvType}, " +
            $"{signature.PastNames[0]} … {signature.PastNames[^1]} → {signature.PresentNames[0]} … {signature.PresentNames[^1]} ({config.Io.Layout})"));
        output.WriteLine($"  output:     {config.Io.Logits} {signature.LogitsType} [batch, tokens, {config.VocabSize}]");
        var others = inputs.Keys.Except(signature.PastNames).Except([config.Io.InputIds, config.Io.AttentionMask, config.Io.PositionIds ?? "", signature.UseCacheBranch ?? ""]).ToList();
        if (others.Count > 0)
        {
            output.WriteLine($"  other graph inputs: {string.Join(", ", others)}");
        }

        var defaults = config.GenerationDefaults;
        output.WriteLine(defaults.IsEmpty
            ? "  sampling defaults: none stated (OpenAI's apply: temperature 1, top_p 1)"
            : string.Create(CultureInfo.InvariantCulture,
                $"  sampling defaults: do_sample {defaults.DoSample?.ToString() ?? "-"}, temperature {defaults.DefaultTemperature?.ToString() ?? "-"}, top_p {defaults.TopP?.ToString() ?? "-"}, top_k {defaults.TopK?.ToString() ?? "-"}, min_p {defaults.MinP?.ToString() ?? "-"}, repetition_penalty {defaults.RepetitionPenalty?.ToString() ?? "-"} (a request's own values win)"));
        foreach (var note in model.LoadNotes)
        {
            output.WriteLine($"  note: {note}");
        }

        output.WriteLine();
        output.WriteLine($"tokenizer: {model.Tokenizer.Family}; {model.Tokenizer.SpecialTokens.Count} special tokens");
    }

    private static void Fed(TextWriter output, string name, string type, string shape) =>
        output.WriteLine($"  {name,-22} {type,-8} {shape}");

    private static string ExternalData(string modelPath)
    {
        var directory = Path.GetDirectoryName(modelPath)!;
        var data = Directory.GetFiles(directory, Path.GetFileName(modelPath) + "*.data")
            .Concat(Directory.GetFiles(directory, Path.GetFileName(modelPath) + "_data"))
            .Select(Path.GetFileName)
            .ToList();
        return data.Count == 0 ? " (weights inline)" : $" (external weights: {string.Join(", ", data)})";
    }
}
