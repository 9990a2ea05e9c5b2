using System.Text.RegularExpressions;
using Microsoft.ML.OnnxRuntime;

namespace TokenGrid.Inference.Models;

public static partial class ModelConfigReader
{
    /// <summary>Context length assumed when neither the graph nor config.json states one.</summary>
    private const int FallbackContextLength = 2048;

    /// <summary>Where a multimodal config.json keeps its language model's settings.</summary>
    private const string TextConfig = "text_config.";

    [GeneratedRegex(@"^past_key_values\.(\d+)\.key$")]
    private static partial Regex PerLayerPastKey();

    [GeneratedRegex(@"^past_(\d+)$")]
    private static partial Regex CombinedPast();

    [GeneratedRegex(@"^present(_key_values)?\.(\d+)\.key$")]
    private static partial Regex PerLayerPresentKey();

    /// <summary>
    /// No genai_config.json (a Hugging Face Optimum export): recognise the cache layout from the graph's input
    /// names, read head counts and vocabulary from fixed dimensions, and fill the rest from <c>config.json</c>
    /// (transformers' field names, GPT-2's older ones as well; each at the top level, else in <c>text_config</c>).
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

        var fromText = new SortedSet<string>(StringComparer.Ordinal);
        int? Hf(params string[] names) => HfInt(hf, fromText, names);
        IReadOnlyList<int> Ids(string name) => HfIds(hf, fromText, name);

        Disagree(source, notes, "num_hidden_layers", Hf("num_hidden_layers", "n_layer"), layers);
        var headAxis = io.Layout == KvLayout.CombinedPast ? 2 : 1;
        var statedHeads = Hf("num_attention_heads", "n_head");
        var hidden = Hf("hidden_size", "n_embd");
        var kvHeads = FixedDimension(pastMeta, headAxis) ?? Hf("num_key_value_heads") ?? statedHeads
            ?? throw new InvalidModelException($"{Path.Combine(directory, HuggingFaceConfigFile)}: lacks 'num_key_value_heads' and 'num_attention_heads' (at the top level and in 'text_config'), and the past inputs' head dimension is symbolic.");
        var headSize = FixedDimension(pastMeta, ^1) ?? Hf("head_dim") ?? (hidden / statedHeads)
            ?? throw new InvalidModelException($"{Path.Combine(directory, HuggingFaceConfigFile)}: lacks 'head_dim' (or 'hidden_size' and 'num_attention_heads'), at the top level and in 'text_config', and the past inputs' last dimension is symbolic.");
        var vocab = FixedDimension(outputs.GetValueOrDefault(io.Logits), ^1) ?? Hf("vocab_size")
            ?? throw new InvalidModelException($"{Path.Combine(directory, HuggingFaceConfigFile)}: lacks 'vocab_size' (at the top level and in 'text_config'), and the logits output's last dimension is symbolic.");
        var context = Hf("max_position_embeddings", "n_positions", "n_ctx");
        if (context is null)
        {
            notes.Defaulted(source, "max_position_embeddings", $"{FallbackContextLength}: neither config.json (at the top level or in text_config) nor the graph states a context length");
        }

        var eos = Ids("eos_token_id");
        var pad = Ids("pad_token_id") is [var p, ..] ? p : eos.FirstOrDefault(0);
        var bos = Ids("bos_token_id") is [var b, ..] ? b : (int?)null;
        foreach (var field in fromText)
        {
            notes.Defaulted(source, field, $"read from text_config.{field}, where a multimodal config.json keeps its language model's settings");
        }

        NoteSlidingWindow(hf, notes);
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
            BosTokenId = bos,
            PadTokenId = pad,
        };
    }

    /// <summary>
    /// The first of <paramref name="names"/> that config.json states (transformers' name first, GPT-2's after), at the
    /// top level and then in <c>text_config</c>, where multimodal wrappers (Gemma 3, Llava, Mistral 3, ...) keep their
    /// language model's settings (transformers' <c>get_text_config()</c>). The name found in <c>text_config</c> is added
    /// to <paramref name="fromText"/>.
    /// </summary>
    private static int? HfInt(ConfigFile? hf, ISet<string> fromText, params string[] names)
    {
        if (hf is null)
        {
            return null;
        }

        if (names.Select(hf.PositiveInt).FirstOrDefault(v => v is not null) is { } top)
        {
            return top;
        }

        foreach (var name in names)
        {
            if (hf.PositiveInt(TextConfig + name) is { } nested)
            {
                fromText.Add(name);
                return nested;
            }
        }

        return null;
    }

    /// <summary>A token id field (number or list) from the top level of config.json, else from <c>text_config</c>.</summary>
    private static IReadOnlyList<int> HfIds(ConfigFile? hf, ISet<string> fromText, string name)
    {
        if (hf is null)
        {
            return [];
        }

        var top = hf.Ids(name);
        if (top.Count > 0 || hf.Has(name))
        {
            return top;
        }

        var nested = hf.Ids(TextConfig + name);
        if (nested.Count > 0)
        {
            fromText.Add(name);
        }

        return nested;
    }

    /// <summary>A sliding attention window, noted as genai_config.json's is (unless <c>use_sliding_window</c> is false, as Qwen 2 states).</summary>
    private static void NoteSlidingWindow(ConfigFile? hf, ModelNotes notes)
    {
        foreach (var prefix in new[] { "", TextConfig })
        {
            if (hf is not null && hf.Has(prefix + "sliding_window") && hf.Bool(prefix + "use_sliding_window") != false)
            {
                notes.Ignored(hf.Name, prefix + "sliding_window", "TokenGrid feeds whole prompts and keeps every cached position; windowed attention inside the graph still applies");
                return;
            }
        }
    }

    private static void Disagree(string source, ModelNotes notes, string field, int? stated, int graph)
    {
        if (stated is { } s && s != graph)
        {
            notes.Ignored(source, field, $"{s} disagrees with the graph ({graph} layers of past inputs); the graph wins");
        }
    }
}
