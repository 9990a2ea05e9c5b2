using System.Text.RegularExpressions;
using Microsoft.ML.OnnxRuntime;

namespace TokenGrid.Inference.Models;

public static partial class ModelConfigReader
{
    /// <summary>Context length assumed when neither the graph nor config.json states one.</summary>
    private const int FallbackContextLength = 2048;

    [GeneratedRegex(@"^past_key_values\.(\d+)\.key$")]
    private static partial Regex PerLayerPastKey();

    [GeneratedRegex(@"^past_(\d+)$")]
    private static partial Regex CombinedPast();

    [GeneratedRegex(@"^present(_key_values)?\.(\d+)\.key$")]
    private static partial Regex PerLayerPresentKey();

    /// <summary>
    /// No genai_config.json (a Hugging Face Optimum export): recognise the cache layout from the graph's input
    /// names, read head counts and vocabulary from fixed dimensions, and fill the rest from <c>config.json</c>
    /// (transformers' field names, GPT-2's older ones as well).
    /// </summary>
    private static DecoderModelConfig Discover(string directory, string modelPath, InferenceSession session, ModelNotes notes)
    {
        var inputs = session.InputMetadata;
        var outputs = session.OutputMetadata;
        var hf = ConfigFile.Load(Path.Combine(directory, HuggingFaceConfigFile));
        var source = hf?.Name ?? HuggingFaceConfigFile;

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
                $"{modelPath}: no key/value cache inputs (past_key_values.N.key or past_N) and no {GenAiConfigFile} naming them; " +
                $"inputs are: {string.Join(", ", inputs.Keys)}. Export it with past (Optimum's text-generation-with-past).");
        }

        Disagree(source, notes, "num_hidden_layers", Hf(hf, "num_hidden_layers", "n_layer"), layers);
        var headAxis = io.Layout == KvLayout.CombinedPast ? 2 : 1;
        var statedHeads = Hf(hf, "num_attention_heads", "n_head");
        var hidden = Hf(hf, "hidden_size", "n_embd");
        var kvHeads = FixedDimension(pastMeta, headAxis) ?? Hf(hf, "num_key_value_heads") ?? statedHeads
            ?? throw new InvalidModelException($"{Path.Combine(directory, HuggingFaceConfigFile)}: lacks 'num_key_value_heads' and 'num_attention_heads', and the past inputs' head dimension is symbolic.");
        var headSize = FixedDimension(pastMeta, ^1) ?? Hf(hf, "head_dim") ?? (hidden / statedHeads)
            ?? throw new InvalidModelException($"{Path.Combine(directory, HuggingFaceConfigFile)}: lacks 'head_dim' (or 'hidden_size' and 'num_attention_heads'), and the past inputs' last dimension is symbolic.");
        var vocab = FixedDimension(outputs.GetValueOrDefault(io.Logits), ^1) ?? Hf(hf, "vocab_size")
            ?? throw new InvalidModelException($"{Path.Combine(directory, HuggingFaceConfigFile)}: lacks 'vocab_size', and the logits output's last dimension is symbolic.");
        var context = Hf(hf, "max_position_embeddings", "n_positions", "n_ctx");
        if (context is null)
        {
            notes.Defaulted(source, "max_position_embeddings", $"{FallbackContextLength}: neither config.json nor the graph states a context length");
        }

        var eos = hf?.Ids("eos_token_id") ?? [];
        var pad = hf?.Ids("pad_token_id") is [var p, ..] ? p : eos.FirstOrDefault(0);
        return new DecoderModelConfig
        {
            Name = DirectoryName(directory),
            Directory = directory,
            ModelPath = modelPath,
            ModelType = hf?.String("model_type"),
            Io = io,
            Layers = layers,
            AttentionHeads = statedHeads ?? (hidden is { } h && h % headSize == 0 ? h / headSize : kvHeads),
            KvHeads = kvHeads,
            HeadSize = headSize,
            VocabSize = vocab,
            ContextLength = context ?? FallbackContextLength,
            EosTokenIds = eos,
            BosTokenId = hf?.Ids("bos_token_id") is [var b, ..] ? b : null,
            PadTokenId = pad,
        };
    }

    /// <summary>The first of <paramref name="names"/> that config.json states (transformers' name first, GPT-2's after).</summary>
    private static int? Hf(ConfigFile? hf, params string[] names) =>
        hf is null ? null : names.Select(hf.PositiveInt).FirstOrDefault(v => v is not null);

    private static void Disagree(string source, ModelNotes notes, string field, int? stated, int graph)
    {
        if (stated is { } s && s != graph)
        {
            notes.Ignored(source, field, $"{s} disagrees with the graph ({graph} layers of past inputs); the graph wins");
        }
    }
}
