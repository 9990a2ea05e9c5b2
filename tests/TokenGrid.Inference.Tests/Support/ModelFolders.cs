using System.Text.Json;
using System.Text.Json.Nodes;
using TokenGrid.Inference.DemoModel;

namespace TokenGrid.Inference.Tests.Support;

/// <summary>
/// Model directories laid out the way export tools write them, made from a demo model's ONNX files: a
/// <c>genai_config.json</c> as onnxruntime-genai's builder or a hand-trimmed one writes it, or a Hugging Face
/// Optimum export (<c>config.json</c>, <c>generation_config.json</c>, no <c>genai_config.json</c>). Each call makes
/// a fresh directory under the test run's cache root.
/// </summary>
public static class ModelFolders
{
    private static readonly JsonSerializerOptions s_indented = new() { WriteIndented = true };

    /// <summary>The demo model's graph (and weights, and tokenizer) with <paramref name="genaiConfig"/> beside it.</summary>
    public static string WithGenAiConfig(DemoModelSpec spec, JsonObject genaiConfig)
    {
        var directory = CopyGraph(spec, "model.onnx");
        Write(directory, "genai_config.json", genaiConfig);
        return directory;
    }

    /// <summary>The demo model's genai_config.json, edited.</summary>
    public static string WithEditedGenAiConfig(DemoModelSpec spec, Action<JsonObject> edit)
    {
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(DemoModels.Get(spec), "genai_config.json")))!.AsObject();
        edit(config);
        return WithGenAiConfig(spec, config);
    }

    /// <summary>
    /// An Optimum export: the graph as <paramref name="modelFile"/> (<c>model.onnx</c>, or <c>decoder_model_merged.onnx</c>
    /// for a merged decoder), <c>config.json</c> and, when given, <c>generation_config.json</c>.
    /// </summary>
    public static string Optimum(DemoModelSpec spec, JsonObject config, JsonObject? generationConfig = null, string modelFile = "model.onnx")
    {
        var directory = CopyGraph(spec, modelFile);
        Write(directory, "config.json", config);
        if (generationConfig is not null)
        {
            Write(directory, "generation_config.json", generationConfig);
        }

        return directory;
    }

    /// <summary>
    /// A transformers.js / onnx-community export: <c>config.json</c>, <c>generation_config.json</c> (when given) and the
    /// tokenizer at the root, the graph as <c>onnx/model.onnx</c> with its external weights beside it in <c>onnx/</c>,
    /// and each of <paramref name="variants"/> (another graph, inline weights) as <c>onnx/NAME</c>, the way
    /// onnx-community ships <c>model_fp16.onnx</c>, <c>model_q4.onnx</c>, ... next to <c>model.onnx</c>.
    /// </summary>
    public static string OnnxCommunity(DemoModelSpec spec, JsonObject config, JsonObject? generationConfig, params (string Name, DemoModelSpec Spec)[] variants)
    {
        var directory = Optimum(spec, config, generationConfig);
        var onnx = Directory.CreateDirectory(Path.Combine(directory, "onnx")).FullName;
        foreach (var name in new[] { "model.onnx", "model.onnx.data" })
        {
            if (File.Exists(Path.Combine(directory, name)))
            {
                File.Move(Path.Combine(directory, name), Path.Combine(onnx, name));
            }
        }

        foreach (var (name, variant) in variants)
        {
            Assert.False(variant.ExternalData, "a variant's graph must carry its weights inline: onnx/model.onnx.data is model.onnx's");
            File.Copy(Path.Combine(DemoModels.Get(variant), "model.onnx"), Path.Combine(onnx, name));
        }

        return directory;
    }

    /// <summary>
    /// genai_config.json as onnxruntime-genai's model builder writes it for a CUDA export: every decoder field, the
    /// eos list, CUDA provider options and the full <c>search</c> section with a shared past/present buffer.
    /// </summary>
    public static JsonObject GenAiBuilderConfig(DemoModelSpec spec)
    {
        var perLayer = spec.KvLayout == KvCacheLayout.PerLayerKeyValue;
        var inputs = new JsonObject { ["input_ids"] = "input_ids", ["attention_mask"] = "attention_mask" };
        if (spec.PositionIdsInput)
        {
            inputs["position_ids"] = "position_ids";
        }

        inputs[perLayer ? "past_key_names" : "past_names"] = perLayer ? "past_key_values.%d.key" : "past_%d";
        if (perLayer)
        {
            inputs["past_value_names"] = "past_key_values.%d.value";
        }

        var outputs = new JsonObject { ["logits"] = "logits" };
        outputs[perLayer ? "present_key_names" : "present_names"] = perLayer ? "present.%d.key" : "present_%d";
        if (perLayer)
        {
            outputs["present_value_names"] = "present.%d.value";
        }

        return new JsonObject
        {
            ["model"] = new JsonObject
            {
                ["bos_token_id"] = spec.VocabSize - 2,
                ["context_length"] = spec.ContextLength,
                ["decoder"] = new JsonObject
                {
                    ["session_options"] = new JsonObject
                    {
                        ["log_id"] = "onnxruntime-genai",
                        ["provider_options"] = new JsonArray(new JsonObject { ["cuda"] = new JsonObject { ["enable_cuda_graph"] = "0" } }),
                    },
                    ["filename"] = "model.onnx",
                    ["head_size"] = spec.HiddenSize / spec.Heads,
                    ["hidden_size"] = spec.HiddenSize,
                    ["inputs"] = inputs,
                    ["outputs"] = outputs,
                    ["num_attention_heads"] = spec.Heads,
                    ["num_hidden_layers"] = spec.Layers,
                    ["num_key_value_heads"] = spec.KvHeads > 0 ? spec.KvHeads : spec.Heads,
                },
                ["eos_token_id"] = new JsonArray(spec.VocabSize - 1, spec.VocabSize - 3),
                ["pad_token_id"] = spec.VocabSize - 1,
                ["type"] = "llama",
                ["vocab_size"] = spec.VocabSize,
            },
            ["search"] = new JsonObject
            {
                ["diversity_penalty"] = 0.0,
                ["do_sample"] = true,
                ["early_stopping"] = true,
                ["length_penalty"] = 1.0,
                ["max_length"] = spec.ContextLength,
                ["min_length"] = 0,
                ["no_repeat_ngram_size"] = 0,
                ["num_beams"] = 1,
                ["num_return_sequences"] = 1,
                ["past_present_share_buffer"] = true,
                ["repetition_penalty"] = 1.0,
                ["temperature"] = 0.6,
                ["top_k"] = 50,
                ["top_p"] = 0.9,
            },
        };
    }

    /// <summary>
    /// A hand-trimmed genai_config.json of the kind users write: context length, an eos list and the cache name
    /// patterns only. No head counts, head size, layer count, vocabulary size, and no input_ids, attention_mask or
    /// position_ids names: each must default.
    /// </summary>
    public static JsonObject GenAiMinimalConfig(DemoModelSpec spec)
    {
        var perLayer = spec.KvLayout == KvCacheLayout.PerLayerKeyValue;
        var inputs = perLayer
            ? new JsonObject { ["past_key_names"] = "past_key_values.%d.key", ["past_value_names"] = "past_key_values.%d.value" }
            : new JsonObject { ["past_names"] = "past_%d" };
        var outputs = perLayer
            ? new JsonObject { ["present_key_names"] = "present.%d.key", ["present_value_names"] = "present.%d.value" }
            : new JsonObject { ["present_names"] = "present_%d" };
        return new JsonObject
        {
            ["model"] = new JsonObject
            {
                ["type"] = "gpt2",
                ["context_length"] = spec.ContextLength,
                ["eos_token_id"] = new JsonArray(spec.VocabSize - 1, spec.VocabSize - 3),
                ["decoder"] = new JsonObject { ["filename"] = "model.onnx", ["inputs"] = inputs, ["outputs"] = outputs },
            },
        };
    }

    /// <summary>config.json as transformers writes it for a Llama-architecture model of the demo model's shape.</summary>
    public static JsonObject LlamaConfig(DemoModelSpec spec) => new()
    {
        ["_name_or_path"] = "tokengrid/demo",
        ["architectures"] = new JsonArray("LlamaForCausalLM"),
        ["attention_bias"] = false,
        ["bos_token_id"] = spec.VocabSize - 2,
        ["eos_token_id"] = new JsonArray(spec.VocabSize - 1, spec.VocabSize - 3),
        ["head_dim"] = spec.HiddenSize / spec.Heads,
        ["hidden_act"] = "silu",
        ["hidden_size"] = spec.HiddenSize,
        ["intermediate_size"] = 4 * spec.HiddenSize,
        ["max_position_embeddings"] = spec.ContextLength,
        ["model_type"] = "llama",
        ["num_attention_heads"] = spec.Heads,
        ["num_hidden_layers"] = spec.Layers,
        ["num_key_value_heads"] = spec.KvHeads > 0 ? spec.KvHeads : spec.Heads,
        ["pad_token_id"] = null,
        ["rms_norm_eps"] = 1e-5,
        ["rope_theta"] = 500000.0,
        ["tie_word_embeddings"] = true,
        ["torch_dtype"] = spec.KvPrecision == TensorPrecision.Float16 ? "float16" : "float32",
        ["transformers_version"] = "4.46.3",
        ["use_cache"] = true,
        ["vocab_size"] = spec.VocabSize,
    };

    /// <summary>config.json as transformers writes it for GPT-2 (the older field names).</summary>
    public static JsonObject Gpt2Config(DemoModelSpec spec) => new()
    {
        ["activation_function"] = "gelu_new",
        ["architectures"] = new JsonArray("GPT2LMHeadModel"),
        ["bos_token_id"] = spec.VocabSize - 1,
        ["eos_token_id"] = spec.VocabSize - 1,
        ["layer_norm_epsilon"] = 1e-5,
        ["model_type"] = "gpt2",
        ["n_ctx"] = spec.ContextLength,
        ["n_embd"] = spec.HiddenSize,
        ["n_head"] = spec.Heads,
        ["n_layer"] = spec.Layers,
        ["n_positions"] = spec.ContextLength,
        ["transformers_version"] = "4.46.3",
        ["use_cache"] = true,
        ["vocab_size"] = spec.VocabSize,
    };

    /// <summary>generation_config.json as a chat model ships it: sampling on, its own temperature and top_p, two end ids.</summary>
    public static JsonObject ChatGenerationConfig(DemoModelSpec spec) => new()
    {
        ["bos_token_id"] = spec.VocabSize - 2,
        ["do_sample"] = true,
        ["eos_token_id"] = new JsonArray(spec.VocabSize - 1, spec.VocabSize - 4),
        ["temperature"] = 0.6,
        ["top_p"] = 0.9,
        ["transformers_version"] = "4.46.3",
    };

    private static string CopyGraph(DemoModelSpec spec, string modelFile)
    {
        var source = DemoModels.Get(spec);
        var directory = Path.Combine(DemoModels.CacheRoot, "folders", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        File.Copy(Path.Combine(source, "model.onnx"), Path.Combine(directory, modelFile));
        foreach (var name in new[] { "model.onnx.data", "tiktoken.json" })
        {
            if (File.Exists(Path.Combine(source, name)))
            {
                // The graph names its external data file "model.onnx.data" whatever the graph file is called.
                File.Copy(Path.Combine(source, name), Path.Combine(directory, name));
            }
        }

        return directory;
    }

    private static void Write(string directory, string name, JsonObject json) =>
        File.WriteAllText(Path.Combine(directory, name), json.ToJsonString(s_indented));
}
