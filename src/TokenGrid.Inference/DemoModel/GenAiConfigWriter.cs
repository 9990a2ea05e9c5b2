using System.Text.Json;

namespace TokenGrid.Inference.DemoModel;

/// <summary>Writes the demo model's <c>genai_config.json</c> (onnxruntime-genai format) and <c>tiktoken.json</c>.</summary>
internal static class GenAiConfigWriter
{
    /// <summary>cl100k_base's <c>&lt;|endoftext|&gt;</c>: beginning, end and padding token of the demo model.</summary>
    public const int EndOfText = 100257;

    public static void WriteGenAiConfig(string path, string modelFileName, DemoModelSpec spec)
    {
        // A small test vocabulary has no id 100257; the last id stands in.
        var special = Math.Min(EndOfText, spec.VocabSize - 1);
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write);
        using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        json.WriteStartObject();
        json.WriteStartObject("model");
        json.WriteString("type", "gpt2");
        json.WriteNumber("bos_token_id", special);
        json.WriteNumber("eos_token_id", special);
        json.WriteNumber("pad_token_id", special);
        json.WriteNumber("vocab_size", spec.VocabSize);
        json.WriteNumber("context_length", spec.ContextLength);

        json.WriteStartObject("decoder");
        json.WriteString("filename", modelFileName);
        json.WriteNumber("hidden_size", spec.HiddenSize);
        json.WriteNumber("num_attention_heads", spec.Heads);
        json.WriteNumber("num_key_value_heads", spec.KeyValueHeads);
        json.WriteNumber("num_hidden_layers", spec.Layers);
        json.WriteNumber("head_size", spec.HeadSize);

        var perLayer = spec.KvLayout == KvCacheLayout.PerLayerKeyValue;
        json.WriteStartObject("inputs");
        json.WriteString("input_ids", "input_ids");
        json.WriteString("attention_mask", "attention_mask");
        if (spec.PositionIdsInput)
        {
            json.WriteString("position_ids", "position_ids");
        }

        if (perLayer)
        {
            json.WriteString("past_key_names", "past_key_values.%d.key");
            json.WriteString("past_value_names", "past_key_values.%d.value");
        }
        else
        {
            json.WriteString("past_names", "past_%d");
        }

        json.WriteEndObject();
        json.WriteStartObject("outputs");
        json.WriteString("logits", "logits");
        if (perLayer)
        {
            json.WriteString("present_key_names", "present.%d.key");
            json.WriteString("present_value_names", "present.%d.value");
        }
        else
        {
            json.WriteString("present_names", "present_%d");
        }

        json.WriteEndObject();
        json.WriteEndObject(); // decoder
        json.WriteEndObject(); // model

        json.WriteStartObject("search");
        json.WriteNumber("max_length", spec.ContextLength);
        json.WriteEndObject();
        json.WriteEndObject();
    }

    /// <summary>Tells TokenGrid's tokenizer loader to use the built-in cl100k_base encoding.</summary>
    public static void WriteTiktokenConfig(string path)
    {
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write);
        using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        json.WriteStartObject();
        json.WriteString("encoding", "cl100k_base");
        json.WriteEndObject();
    }
}
