using Microsoft.ML.OnnxRuntime;

namespace TokenGrid.Inference.Models;

public static partial class ModelConfigReader
{
    /// <summary>
    /// <c>genai_config.json</c>. Names default per field to genai's defaults. Shapes come from the graph where its
    /// dimensions are fixed (genai also lets the graph's per-layer shapes override the file), otherwise from the
    /// file, otherwise from each other: heads from key/value heads, head size from hidden size over heads.
    /// </summary>
    private static DecoderModelConfig FromGenAi(string directory, string modelPath, ConfigFile file, InferenceSession session, ModelNotes notes)
    {
        const string d = "model.decoder.";
        const string inputs = d + "inputs.";
        const string outputs = d + "outputs.";
        if (file.Object("model.decoder") is null)
        {
            throw file.Missing("model.decoder", "it names the decoder graph; TokenGrid serves decoder-only models");
        }

        if (file.Has(d + "pipeline"))
        {
            throw file.Invalid(d + "pipeline", "describes a decoder split over several sessions, which TokenGrid does not run; export the decoder as one graph");
        }

        var defaults = new DecoderIoNames();
        var past = NonEmpty(file.String(inputs + "past_names"));
        var io = new DecoderIoNames
        {
            InputIds = file.String(inputs + "input_ids") ?? defaults.InputIds,
            AttentionMask = file.String(inputs + "attention_mask") ?? defaults.AttentionMask,
            PositionIds = file.String(inputs + "position_ids") ?? defaults.PositionIds,
            Logits = file.String(outputs + "logits") ?? defaults.Logits,
            Layout = past is not null ? KvLayout.CombinedPast : KvLayout.PerLayerKeyValue,
            PastKey = file.String(inputs + "past_key_names") ?? defaults.PastKey,
            PastValue = file.String(inputs + "past_value_names") ?? defaults.PastValue,
            PresentKey = file.String(outputs + "present_key_names") ?? defaults.PresentKey,
            PresentValue = file.String(outputs + "present_value_names") ?? defaults.PresentValue,
            Past = past ?? defaults.Past,
            Present = NonEmpty(file.String(outputs + "present_names")) ?? defaults.Present,
        };

        var firstPattern = io.Layout == KvLayout.CombinedPast ? io.Past : io.PastKey;
        var layers = file.PositiveInt(d + "num_hidden_layers") ?? CountLayers(session, firstPattern);
        if (layers <= 0)
        {
            throw file.Missing(d + "num_hidden_layers", $"the graph has no input named like '{firstPattern}' to count layers from");
        }

        if (file.PositiveInt(d + "num_hidden_layers") is null)
        {
            notes.Defaulted(file.Name, d + "num_hidden_layers", $"{layers}, the number of '{firstPattern}' inputs of the graph");
        }

        session.InputMetadata.TryGetValue(DecoderIoNames.Format(firstPattern, 0), out var pastMeta);
        var headAxis = io.Layout == KvLayout.CombinedPast ? 2 : 1;
        var graphKvHeads = FixedDimension(pastMeta, headAxis);
        var graphHeadSize = FixedDimension(pastMeta, ^1);
        var statedHeads = file.PositiveInt(d + "num_attention_heads");
        var statedKvHeads = file.PositiveInt(d + "num_key_value_heads");
        var statedHeadSize = file.PositiveInt(d + "head_size");
        var hidden = file.PositiveInt(d + "hidden_size");

        var kvHeads = graphKvHeads ?? statedKvHeads ?? statedHeads
            ?? throw file.Missing(d + "num_key_value_heads", "the past inputs' head dimension is symbolic and num_attention_heads is absent too");
        Disagree(file, notes, d + "num_key_value_heads", statedKvHeads, graphKvHeads);

        var headSize = graphHeadSize ?? statedHeadSize ?? (hidden / statedHeads)
            ?? throw file.Missing(d + "head_size", "the past inputs' last dimension is symbolic and hidden_size / num_attention_heads cannot stand in");
        Disagree(file, notes, d + "head_size", statedHeadSize, graphHeadSize);

        var heads = statedHeads ?? (hidden is { } h && h % headSize == 0 ? h / headSize : kvHeads);
        if (statedHeads is null)
        {
            notes.Defaulted(file.Name, d + "num_attention_heads", hidden is not null && hidden % headSize == 0
                ? $"{heads}, hidden_size {hidden} / head_size {headSize}"
                : $"{heads}, the key/value heads (no grouped-query attention assumed)");
        }

        var vocab = file.PositiveInt("model.vocab_size") ?? FixedDimension(session.OutputMetadata.GetValueOrDefault(io.Logits), ^1)
            ?? throw file.Missing("model.vocab_size", $"the '{io.Logits}' output's last dimension is symbolic");
        if (file.PositiveInt("model.vocab_size") is null)
        {
            notes.Defaulted(file.Name, "model.vocab_size", $"{vocab}, the last dimension of the '{io.Logits}' output");
        }

        var context = file.PositiveInt("model.context_length")
            ?? throw file.Missing("model.context_length", "onnxruntime-genai requires it too: it bounds prompt plus completion");
        var pad = file.Int("model.pad_token_id") ?? 0;
        var eos = file.Ids("model.eos_token_id");
        if (eos.Count == 0)
        {
            eos = [pad];
            notes.Defaulted(file.Name, "model.eos_token_id", $"[{pad}], the padding id, as onnxruntime-genai defaults it");
        }

        NoteIgnoredGenAiSections(file, notes);
        return new DecoderModelConfig
        {
            Name = DirectoryName(directory),
            Directory = directory,
            ModelPath = modelPath,
            ModelType = file.String("model.type"),
            Io = io,
            Layers = layers,
            AttentionHeads = heads,
            KvHeads = kvHeads,
            HeadSize = headSize,
            VocabSize = vocab,
            ContextLength = context,
            EosTokenIds = eos,
            BosTokenId = file.Int("model.bos_token_id"),
            PadTokenId = pad,
        };

        static string? NonEmpty(string? s) => string.IsNullOrEmpty(s) ? null : s;
    }

    private static void Disagree(ConfigFile file, ModelNotes notes, string field, int? stated, int? graph)
    {
        if (stated is { } s && graph is { } g && s != g)
        {
            notes.Ignored(file.Name, field, $"{s} disagrees with the graph's past inputs ({g}); the graph wins");
        }
    }

    /// <summary>Sections of genai_config.json that configure things TokenGrid does its own way.</summary>
    private static void NoteIgnoredGenAiSections(ConfigFile file, ModelNotes notes)
    {
        if (file.Has("model.decoder.sliding_window"))
        {
            notes.Ignored(file.Name, "model.decoder.sliding_window", "TokenGrid feeds whole prompts and keeps every cached position; windowed attention inside the graph still applies");
        }

        if (file.Has("model.decoder.run_options"))
        {
            notes.Ignored(file.Name, "model.decoder.run_options", "the engine runs with default run options");
        }

        foreach (var other in new[] { "model.encoder", "model.vision", "model.speech", "model.embedding", "model.draft", "model.mtp" })
        {
            if (file.Has(other))
            {
                notes.Ignored(file.Name, other, "TokenGrid runs the text decoder alone");
            }
        }

        if (file.Has("engine"))
        {
            notes.Ignored(file.Name, "engine", "batching follows the engine's own options");
        }

        if (file.Has("speculative"))
        {
            notes.Ignored(file.Name, "speculative", "TokenGrid does not decode speculatively");
        }
    }
}
