using System.Text.Json.Nodes;
using Microsoft.ML.OnnxRuntime;

namespace TokenGrid.Inference.Models;

/// <summary>
/// Reads a model directory: <c>genai_config.json</c> where there is one, otherwise the ONNX session's
/// input/output metadata plus a Hugging Face <c>config.json</c> for what metadata cannot tell.
/// </summary>
public static partial class ModelConfigReader
{
    /// <summary>The onnxruntime-genai configuration file name.</summary>
    public const string GenAiConfigFile = "genai_config.json";

    // Decoder files in the order Optimum and the genai builder name them.
    private static readonly string[] s_candidateFiles = ["model.onnx", "decoder_with_past_model.onnx", "decoder_model_merged.onnx", "decoder_model.onnx"];

    /// <summary>Finds the decoder <c>.onnx</c> file of a model directory.</summary>
    public static string FindModelFile(string directory)
    {
        if (!System.IO.Directory.Exists(directory))
        {
            throw new InvalidModelException($"Model directory '{directory}' does not exist.");
        }

        var genai = ReadJson(Path.Combine(directory, GenAiConfigFile));
        if (genai?["model"]?["decoder"]?["filename"]?.GetValue<string>() is { } configured)
        {
            var path = Path.Combine(directory, configured);
            return File.Exists(path) ? path
                : throw new InvalidModelException($"{GenAiConfigFile} in '{directory}' names decoder '{configured}', which does not exist.");
        }

        foreach (var name in s_candidateFiles)
        {
            var path = Path.Combine(directory, name);
            if (File.Exists(path))
            {
                return path;
            }
        }

        var onnx = System.IO.Directory.GetFiles(directory, "*.onnx");
        return onnx.Length == 1 ? onnx[0]
            : throw new InvalidModelException(onnx.Length == 0
                ? $"Model directory '{directory}' has no .onnx file."
                : $"Model directory '{directory}' has several .onnx files and no {GenAiConfigFile} naming the decoder.");
    }

    /// <summary>Reads the configuration of the model whose session is already open.</summary>
    public static DecoderModelConfig Read(string directory, string modelPath, InferenceSession session)
    {
        var genai = ReadJson(Path.Combine(directory, GenAiConfigFile));
        return genai?["model"] is JsonObject model
            ? FromGenAi(directory, modelPath, model)
            : Discover(directory, modelPath, session);
    }

    private static DecoderModelConfig FromGenAi(string directory, string modelPath, JsonObject model)
    {
        var decoder = model["decoder"] as JsonObject
            ?? throw new InvalidModelException($"{GenAiConfigFile} in '{directory}' has no model.decoder section.");
        var inputs = decoder["inputs"] as JsonObject ?? [];
        var outputs = decoder["outputs"] as JsonObject ?? [];
        var combined = inputs["past_names"] is not null;
        var defaults = new DecoderIoNames();
        var io = new DecoderIoNames
        {
            InputIds = Str(inputs, "input_ids") ?? defaults.InputIds,
            AttentionMask = Str(inputs, "attention_mask") ?? defaults.AttentionMask,
            PositionIds = Str(inputs, "position_ids"),
            Logits = Str(outputs, "logits") ?? defaults.Logits,
            Layout = combined ? KvLayout.CombinedPast : KvLayout.PerLayerKeyValue,
            PastKey = Str(inputs, "past_key_names") ?? defaults.PastKey,
            PastValue = Str(inputs, "past_value_names") ?? defaults.PastValue,
            PresentKey = Str(outputs, "present_key_names") ?? defaults.PresentKey,
            PresentValue = Str(outputs, "present_value_names") ?? defaults.PresentValue,
            Past = Str(inputs, "past_names") ?? defaults.Past,
            Present = Str(outputs, "present_names") ?? defaults.Present,
        };

        var heads = Int(decoder, "num_attention_heads") ?? throw Missing(directory, "model.decoder.num_attention_heads");
        var eos = Ids(model["eos_token_id"]);
        return new DecoderModelConfig
        {
            Name = Path.GetFileName(Path.TrimEndingDirectorySeparator(directory)),
            Directory = directory,
            ModelPath = modelPath,
            Io = io,
            Layers = Int(decoder, "num_hidden_layers") ?? throw Missing(directory, "model.decoder.num_hidden_layers"),
            KvHeads = Int(decoder, "num_key_value_heads") ?? heads,
            HeadSize = Int(decoder, "head_size")
                ?? (Int(decoder, "hidden_size") / heads) ?? throw Missing(directory, "model.decoder.head_size"),
            VocabSize = Int(model, "vocab_size") ?? throw Missing(directory, "model.vocab_size"),
            ContextLength = Int(model, "context_length") ?? throw Missing(directory, "model.context_length"),
            EosTokenIds = eos,
            BosTokenId = Ids(model["bos_token_id"]).FirstOrDefault(-1) is var bos and >= 0 ? bos : null,
            PadTokenId = Ids(model["pad_token_id"]).FirstOrDefault(eos.FirstOrDefault(0)),
        };
    }

    private static InvalidModelException Missing(string directory, string key) =>
        new($"{GenAiConfigFile} in '{directory}' lacks '{key}'.");

    internal static JsonNode? ReadJson(string path)
    {
        if (!File.Exists(path))
        {
            return null;
        }

        try
        {
            return JsonNode.Parse(File.ReadAllText(path));
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new InvalidModelException($"'{Path.GetFileName(path)}' is not valid JSON: {e.Message}", e);
        }
    }

    internal static string? Str(JsonObject? o, string key) =>
        o?[key] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    internal static int? Int(JsonObject? o, string key) =>
        o?[key] is JsonValue v && v.TryGetValue<int>(out var i) ? i : null;

    /// <summary>A token id field that may be a number or a list of numbers.</summary>
    internal static IReadOnlyList<int> Ids(JsonNode? node) => node switch
    {
        JsonArray a => [.. a.Select(x => x!.GetValue<int>())],
        JsonValue v when v.TryGetValue<int>(out var i) => [i],
        _ => [],
    };
}
