using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.ML.OnnxRuntime;

namespace TokenGrid.Inference.Models;

public static partial class ModelConfigReader
{
    /// <summary>Context length assumed when neither metadata nor config.json states one.</summary>
    private const int FallbackContextLength = 2048;

    [GeneratedRegex(@"^past_key_values\.(\d+)\.key$")]
    private static partial Regex PerLayerPastKey();

    [GeneratedRegex(@"^past_(\d+)$")]
    private static partial Regex CombinedPast();

    [GeneratedRegex(@"^present(_key_values)?\.(\d+)\.key$")]
    private static partial Regex PerLayerPresentKey();

    /// <summary>
    /// No genai_config.json: recognise the cache layout from the graph's input names, read head counts
    /// and vocabulary from fixed dimensions, and fill the rest from a Hugging Face config.json.
    /// </summary>
    private static DecoderModelConfig Discover(string directory, string modelPath, InferenceSession session)
    {
        var inputs = session.InputMetadata;
        var outputs = session.OutputMetadata;
        var hf = ReadJson(Path.Combine(directory, "config.json")) as JsonObject;

        var perLayer = inputs.Keys.Select(k => PerLayerPastKey().Match(k)).Where(m => m.Success).ToList();
        var combined = inputs.Keys.Select(k => CombinedPast().Match(k)).Where(m => m.Success).ToList();
        DecoderIoNames io;
        int layers;
        NodeMetadata pastMeta;
        if (perLayer.Count > 0)
        {
            layers = perLayer.Count;
            var presentKey = outputs.Keys.Select(k => PerLayerPresentKey().Match(k)).FirstOrDefault(m => m.Success);
            var presentPrefix = presentKey?.Groups[1].Success == true ? "present_key_values" : "present";
            io = new DecoderIoNames
            {
                Layout = KvLayout.PerLayerKeyValue,
                PresentKey = presentPrefix + ".%d.key",
                PresentValue = presentPrefix + ".%d.value",
            };
            pastMeta = inputs[perLayer[0].Value];
        }
        else if (combined.Count > 0)
        {
            layers = combined.Count;
            io = new DecoderIoNames { Layout = KvLayout.CombinedPast };
            pastMeta = inputs[combined[0].Value];
        }
        else
        {
            throw new InvalidModelException(
                $"'{Path.GetFileName(modelPath)}' has no key/value cache inputs (past_key_values.N.key or past_N); " +
                $"inputs are: {string.Join(", ", inputs.Keys)}. Export it with past (text-generation-with-past).");
        }

        io = io with { PositionIds = inputs.ContainsKey("position_ids") ? "position_ids" : null };
        var dims = pastMeta.Dimensions;
        var headDim = io.Layout == KvLayout.CombinedPast ? 2 : 1;
        var kvHeads = dims.Length > headDim && dims[headDim] > 0 ? dims[headDim]
            : Int(hf, "num_key_value_heads") ?? Int(hf, "num_attention_heads") ?? Int(hf, "n_head")
            ?? throw new InvalidModelException($"Cannot tell the number of heads of '{modelPath}': the past input has a symbolic head dimension and there is no config.json.");
        var headSize = dims[^1] > 0 ? dims[^1]
            : (Int(hf, "hidden_size") ?? Int(hf, "n_embd")) / (Int(hf, "num_attention_heads") ?? Int(hf, "n_head"))
            ?? throw new InvalidModelException($"Cannot tell the head size of '{modelPath}'.");
        var logitsDims = outputs.TryGetValue(io.Logits, out var logits) ? logits.Dimensions : [];
        var vocab = logitsDims.Length > 0 && logitsDims[^1] > 0 ? logitsDims[^1]
            : Int(hf, "vocab_size") ?? throw new InvalidModelException($"Cannot tell the vocabulary size of '{modelPath}'.");
        var eos = Ids(hf?["eos_token_id"]);
        var bos = Ids(hf?["bos_token_id"]);

        return new DecoderModelConfig
        {
            Name = Path.GetFileName(Path.TrimEndingDirectorySeparator(directory)),
            Directory = directory,
            ModelPath = modelPath,
            Io = io,
            Layers = layers,
            KvHeads = kvHeads,
            HeadSize = headSize,
            VocabSize = vocab,
            ContextLength = Int(hf, "max_position_embeddings") ?? Int(hf, "n_positions") ?? Int(hf, "n_ctx") ?? FallbackContextLength,
            EosTokenIds = eos,
            BosTokenId = bos.Count > 0 ? bos[0] : null,
            PadTokenId = Ids(hf?["pad_token_id"]).FirstOrDefault(eos.FirstOrDefault(0)),
        };
    }
}
