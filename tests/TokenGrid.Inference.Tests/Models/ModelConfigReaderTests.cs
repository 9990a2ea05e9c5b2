using System.Text.Json.Nodes;
using Microsoft.ML.OnnxRuntime;
using TokenGrid.Inference.DemoModel;
using TokenGrid.Inference.Models;
using TokenGrid.Inference.Runtime;
using TokenGrid.Inference.Tests.DemoModel;
using TokenGrid.Inference.Tests.Support;

namespace TokenGrid.Inference.Tests.Models;

/// <summary>What a model folder's files say, read the way onnxruntime-genai reads them, and what the reader refuses.</summary>
public sealed class ModelConfigReaderTests
{
    private static readonly DemoModelSpec s_gqa = DemoVariants.Spec("grouped-query");

    [Fact]
    public void A_minimal_genai_config_defaults_every_optional_field_from_genai_defaults_and_the_graph()
    {
        var config = Read(ModelFolders.WithGenAiConfig(s_gqa, ModelFolders.GenAiMinimalConfig(s_gqa)));

        Assert.Equal((2, 2, 16, 1000, 256), (config.Layers, config.KvHeads, config.HeadSize, config.VocabSize, config.ContextLength));
        Assert.Equal(2, config.AttentionHeads);
        Assert.Equal(("input_ids", "attention_mask", "position_ids", "logits"), (config.Io.InputIds, config.Io.AttentionMask, config.Io.PositionIds, config.Io.Logits));
        Assert.Equal([999, 997], config.EosTokenIds);
        Assert.Equal(0, config.PadTokenId);
        Assert.Null(config.BosTokenId);
        Assert.Equal("gpt2", config.ModelType);
        Assert.Same(GenerationDefaults.None, config.GenerationDefaults);
        Assert.Equal(
            ["model.decoder.num_hidden_layers", "model.decoder.num_attention_heads", "model.vocab_size"],
            config.Notes.Select(n => n.Field));
        Assert.All(config.Notes, n => Assert.Equal(ModelNoteKind.Defaulted, n.Kind));
    }

    [Fact]
    public void Attention_heads_default_to_hidden_size_over_head_size_when_the_file_gives_both()
    {
        var directory = ModelFolders.WithEditedGenAiConfig(s_gqa, c => c["model"]!["decoder"]!.AsObject().Remove("num_attention_heads"));
        var config = Read(directory);
        Assert.Equal((4, 2), (config.AttentionHeads, config.KvHeads));
        Assert.Contains(config.Notes, n => n.Field == "model.decoder.num_attention_heads" && n.Text.Contains("hidden_size 64 / head_size 16", StringComparison.Ordinal));
    }

    [Fact]
    public void Position_ids_default_to_their_genai_name_and_are_fed_only_when_the_graph_has_them()
    {
        foreach (var hasPositions in new[] { true, false })
        {
            var spec = DemoModels.Tiny with { PositionIdsInput = hasPositions };
            var directory = ModelFolders.WithEditedGenAiConfig(spec, c => c["model"]!["decoder"]!["inputs"]!.AsObject().Remove("position_ids"));
            using var model = DecoderModel.Load(directory, new ModelLoadOptions { ExecutionProvider = ExecutionProviderPreference.Cpu });
            Assert.Equal("position_ids", model.Config.Io.PositionIds);
            Assert.Equal(hasPositions ? "position_ids" : null, model.Signature.PositionIds);
        }
    }

    [Fact]
    public void An_absent_eos_defaults_to_the_padding_id_and_a_single_eos_id_is_a_list_of_one()
    {
        var absent = Read(ModelFolders.WithEditedGenAiConfig(DemoModels.Tiny, c => c["model"]!.AsObject().Remove("eos_token_id")));
        Assert.Equal([999], absent.EosTokenIds);
        Assert.Contains(absent.Notes, n => n.Field == "model.eos_token_id" && n.Kind == ModelNoteKind.Defaulted);

        var single = Read(DemoModels.Get(DemoModels.Tiny));
        Assert.Equal([999], single.EosTokenIds);
        Assert.Empty(single.Notes);
    }

    [Fact]
    public void The_search_section_gives_default_sampling_and_settings_tokengrid_does_not_apply_are_noted_once_each()
    {
        var config = Read(ModelFolders.WithGenAiConfig(s_gqa, ModelFolders.GenAiBuilderConfig(s_gqa)));

        var defaults = config.GenerationDefaults;
        Assert.Equal((true, 0.6f, 0.9f, 50, 256), (defaults.DoSample, defaults.Temperature, defaults.TopP, defaults.TopK, defaults.MaxLength));
        Assert.Equal(0.6f, defaults.DefaultTemperature);
        Assert.Equal([999, 997], config.EosTokenIds);
        Assert.Equal((998, 999), (config.BosTokenId, config.PadTokenId));
        var note = Assert.Single(config.Notes);
        Assert.Equal((ModelNoteKind.Ignored, "genai_config.json", "search.past_present_share_buffer"), (note.Kind, note.Source, note.Field));
        Assert.StartsWith("genai_config.json: search.past_present_share_buffer ignored: ", note.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Do_sample_false_means_greedy_whatever_the_temperature()
    {
        var directory = ModelFolders.WithEditedGenAiConfig(DemoModels.Tiny, c => c["search"] = new JsonObject { ["do_sample"] = false, ["temperature"] = 0.7 });
        var defaults = Read(directory).GenerationDefaults;
        Assert.Equal((false, 0.7f, 0f), (defaults.DoSample, defaults.Temperature, defaults.DefaultTemperature));
    }

    [Fact]
    public void Generation_config_adds_end_of_sequence_ids_and_fills_what_the_search_section_lacks()
    {
        var directory = ModelFolders.WithEditedGenAiConfig(DemoModels.Tiny, c => c["search"] = new JsonObject { ["temperature"] = 0.3, ["repetition_penalty"] = 1.1 });
        File.WriteAllText(Path.Combine(directory, "generation_config.json"), ModelFolders.ChatGenerationConfig(DemoModels.Tiny).ToJsonString());
        var config = Read(directory);

        Assert.Equal([999, 996], config.EosTokenIds);
        Assert.Equal((true, 0.3f, 0.9f, (int?)null), (config.GenerationDefaults.DoSample, config.GenerationDefaults.Temperature, config.GenerationDefaults.TopP, config.GenerationDefaults.TopK));
        Assert.Equal(1.1f, config.GenerationDefaults.RepetitionPenalty);
        Assert.Empty(config.Notes);
    }

    [Fact]
    public void Generation_configs_repetition_penalty_and_min_p_are_model_defaults_not_ignored_settings()
    {
        // Qwen2.5-Instruct's generation_config.json, with a min_p as some models state one.
        var generation = new JsonObject
        {
            ["bos_token_id"] = 998, ["do_sample"] = true, ["eos_token_id"] = new JsonArray(999, 997), ["pad_token_id"] = 998,
            ["repetition_penalty"] = 1.05, ["temperature"] = 0.7, ["top_k"] = 20, ["top_p"] = 0.8, ["min_p"] = 0.05,
        };
        var config = Read(ModelFolders.Optimum(s_gqa, ModelFolders.LlamaConfig(s_gqa), generation));
        var defaults = config.GenerationDefaults;

        Assert.Equal((true, 0.7f, 0.8f, 20, 1.05f, 0.05f), (defaults.DoSample, defaults.Temperature, defaults.TopP, defaults.TopK, defaults.RepetitionPenalty, defaults.MinP));
        Assert.Empty(config.Notes);
    }

    [Fact]
    public void A_repetition_penalty_or_min_p_the_sampler_would_refuse_is_left_out_with_a_note()
    {
        var generation = new JsonObject { ["repetition_penalty"] = 0.0, ["min_p"] = 1.5, ["temperature"] = 0.7 };
        var config = Read(ModelFolders.Optimum(s_gqa, ModelFolders.LlamaConfig(s_gqa), generation));

        Assert.Equal((0.7f, (float?)null, (float?)null), (config.GenerationDefaults.Temperature, config.GenerationDefaults.RepetitionPenalty, config.GenerationDefaults.MinP));
        Assert.Equal(
            [("generation_config.json", "repetition_penalty"), ("generation_config.json", "min_p")],
            config.Notes.Select(n => (n.Source, n.Field)));
        Assert.All(config.Notes, n => Assert.Equal(ModelNoteKind.Ignored, n.Kind));
    }

    [Fact]
    public void An_optimum_export_reads_config_json_and_generation_config_json()
    {
        var spec = s_gqa with { UseCacheBranch = true };
        var directory = ModelFolders.Optimum(spec, ModelFolders.LlamaConfig(spec), ModelFolders.ChatGenerationConfig(spec), "decoder_model_merged.onnx");
        using var model = DecoderModel.Load(directory, new ModelLoadOptions { ExecutionProvider = ExecutionProviderPreference.Cpu });
        var config = model.Config;

        Assert.EndsWith("decoder_model_merged.onnx", config.ModelPath, StringComparison.Ordinal);
        Assert.Equal(("llama", 2, 4, 2, 16, 1000, 256), (config.ModelType, config.Layers, config.AttentionHeads, config.KvHeads, config.HeadSize, config.VocabSize, config.ContextLength));
        Assert.Equal([999, 997, 996], config.EosTokenIds);
        Assert.Equal(998, config.BosTokenId);
        Assert.Equal(999, config.PadTokenId);
        Assert.Equal((true, 0.6f, 0.9f), (config.GenerationDefaults.DoSample, config.GenerationDefaults.Temperature, config.GenerationDefaults.TopP));
        Assert.Equal("use_cache_branch", model.Signature.UseCacheBranch);
        Assert.Empty(model.LoadNotes);
    }

    [Fact]
    public void A_gpt2_optimum_export_reads_the_older_field_names()
    {
        var directory = ModelFolders.Optimum(DemoModels.Tiny, ModelFolders.Gpt2Config(DemoModels.Tiny));
        var config = Read(directory);
        Assert.Equal(("gpt2", 2, 4, 4, 16, 256), (config.ModelType, config.Layers, config.AttentionHeads, config.KvHeads, config.HeadSize, config.ContextLength));
        Assert.Equal([999], config.EosTokenIds);
        Assert.Same(GenerationDefaults.None, config.GenerationDefaults);
    }

    [Theory]
    [InlineData("context_length", "lacks required field 'model.context_length'")]
    [InlineData("decoder", "lacks required field 'model.decoder'")]
    public void A_missing_required_field_is_refused_in_one_line_naming_the_file_and_the_field(string field, string expected)
    {
        var directory = ModelFolders.WithEditedGenAiConfig(DemoModels.Tiny, c => c["model"]!.AsObject().Remove(field));
        var e = Assert.Throws<InvalidModelException>(() => DecoderModel.Load(directory, new ModelLoadOptions { ExecutionProvider = ExecutionProviderPreference.Cpu }));
        Assert.StartsWith(Path.Combine(directory, "genai_config.json") + ": ", e.Message, StringComparison.Ordinal);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void A_field_of_the_wrong_type_is_refused_naming_it()
    {
        var directory = ModelFolders.WithEditedGenAiConfig(DemoModels.Tiny, c => c["model"]!["decoder"]!["num_hidden_layers"] = "two");
        var e = Assert.Throws<InvalidModelException>(() => Read(directory));
        Assert.Contains("field 'model.decoder.num_hidden_layers' must be a number, not \"two\"", e.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// config.json as transformers writes it for Gemma 3 (Gemma3ForConditionalGeneration): the language model's settings
    /// under <c>text_config</c>, the end ids at the top, a vision tower beside it; sized to the demo graph except for the
    /// context length, which is Gemma 3's.
    /// </summary>
    private static JsonObject Gemma3Config(DemoModelSpec spec) => new()
    {
        ["architectures"] = new JsonArray("Gemma3ForConditionalGeneration"),
        ["boi_token_index"] = 255999,
        ["eoi_token_index"] = 256000,
        ["eos_token_id"] = new JsonArray(1, 106),
        ["image_token_index"] = 262144,
        ["initializer_range"] = 0.02,
        ["mm_tokens_per_image"] = 256,
        ["model_type"] = "gemma3",
        ["text_config"] = new JsonObject
        {
            ["attention_bias"] = false,
            ["bos_token_id"] = 2,
            ["head_dim"] = spec.HiddenSize / spec.Heads,
            ["hidden_activation"] = "gelu_pytorch_tanh",
            ["hidden_size"] = spec.HiddenSize,
            ["intermediate_size"] = 4 * spec.HiddenSize,
            ["max_position_embeddings"] = 131072,
            ["model_type"] = "gemma3_text",
            ["num_attention_heads"] = spec.Heads,
            ["num_hidden_layers"] = spec.Layers,
            ["num_key_value_heads"] = spec.KvHeads,
            ["pad_token_id"] = 0,
            ["query_pre_attn_scalar"] = 256,
            ["rope_scaling"] = new JsonObject { ["factor"] = 8.0, ["rope_type"] = "linear" },
            ["rope_theta"] = 1000000.0,
            ["sliding_window"] = 1024,
            ["sliding_window_pattern"] = 6,
            ["vocab_size"] = spec.VocabSize,
        },
        ["torch_dtype"] = "bfloat16",
        ["transformers_version"] = "4.50.0.dev0",
        ["vision_config"] = new JsonObject { ["model_type"] = "siglip_vision_model", ["hidden_size"] = 1152, ["image_size"] = 896 },
    };

    [Fact]
    public void A_multimodal_config_json_is_read_from_its_text_config_with_a_note_for_each_value_taken_from_there()
    {
        var config = Read(ModelFolders.Optimum(s_gqa, Gemma3Config(s_gqa)));

        Assert.Equal(131072, config.ContextLength);
        Assert.Equal((4, 2, 16, 1000), (config.AttentionHeads, config.KvHeads, config.HeadSize, config.VocabSize));
        Assert.Equal([1, 106], config.EosTokenIds);
        Assert.Equal((2, 0), (config.BosTokenId, config.PadTokenId));
        Assert.Equal("gemma3", config.ModelType);
        Assert.DoesNotContain(config.Notes, n => n.Text.Contains("neither config.json", StringComparison.Ordinal));
        var fromText = config.Notes.Where(n => n.Kind == ModelNoteKind.Defaulted).ToList();
        Assert.Equal(["bos_token_id", "hidden_size", "max_position_embeddings", "num_attention_heads", "num_hidden_layers", "pad_token_id"], fromText.Select(n => n.Field));
        Assert.All(fromText, n => Assert.StartsWith("read from text_config.", n.Text, StringComparison.Ordinal));
        var window = Assert.Single(config.Notes, n => n.Kind == ModelNoteKind.Ignored);
        Assert.Equal(("config.json", "text_config.sliding_window"), (window.Source, window.Field));
    }

    [Fact]
    public void Top_level_config_json_values_win_over_text_config()
    {
        var json = Gemma3Config(s_gqa);
        json["max_position_embeddings"] = 8192;
        json["bos_token_id"] = 5;
        var config = Read(ModelFolders.Optimum(s_gqa, json));

        Assert.Equal((8192, 5), (config.ContextLength, config.BosTokenId));
        Assert.DoesNotContain(config.Notes, n => n.Field is "max_position_embeddings" or "bos_token_id");
    }

    [Fact]
    public void A_sliding_window_in_config_json_is_noted_unless_use_sliding_window_is_false()
    {
        var mistral = ModelFolders.LlamaConfig(s_gqa);
        mistral["sliding_window"] = 4096;
        var noted = Assert.Single(Read(ModelFolders.Optimum(s_gqa, mistral)).Notes);
        Assert.Equal((ModelNoteKind.Ignored, "sliding_window"), (noted.Kind, noted.Field));

        var qwen = ModelFolders.LlamaConfig(s_gqa);
        qwen["sliding_window"] = 131072;
        qwen["use_sliding_window"] = false;
        Assert.Empty(Read(ModelFolders.Optimum(s_gqa, qwen)).Notes);

        var none = ModelFolders.LlamaConfig(s_gqa);
        none["sliding_window"] = null;
        Assert.Empty(Read(ModelFolders.Optimum(s_gqa, none)).Notes);
    }

    [Fact]
    public void A_decoder_split_over_several_sessions_is_refused()
    {
        var directory = ModelFolders.WithEditedGenAiConfig(DemoModels.Tiny, c =>
            c["model"]!["decoder"]!["pipeline"] = new JsonArray(new JsonObject { ["embeddings"] = new JsonObject { ["filename"] = "embeddings.onnx" } }));
        var e = Assert.Throws<InvalidModelException>(() => Read(directory));
        Assert.Contains("field 'model.decoder.pipeline' describes a decoder split over several sessions", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Cache_shapes_that_contradict_the_file_follow_the_graph_with_a_note()
    {
        var directory = ModelFolders.WithEditedGenAiConfig(s_gqa, c => c["model"]!["decoder"]!["num_key_value_heads"] = 4);
        var config = Read(directory);
        Assert.Equal(2, config.KvHeads);
        Assert.Contains(config.Notes, n => n.Field == "model.decoder.num_key_value_heads" && n.Kind == ModelNoteKind.Ignored);
    }

    [Fact]
    public void A_named_input_the_graph_lacks_and_a_graph_input_nobody_feeds_are_refused_by_name()
    {
        var renamed = ModelFolders.WithEditedGenAiConfig(DemoModels.Tiny, c => c["model"]!["decoder"]!["inputs"]!["attention_mask"] = "mask");
        var e = Assert.Throws<InvalidModelException>(() => Load(renamed));
        Assert.Contains("no input 'mask'", e.Message, StringComparison.Ordinal);

        var unfed = ModelFolders.WithEditedGenAiConfig(DemoModels.Tiny, c => c["model"]!["decoder"]!["inputs"]!["position_ids"] = "positions");
        e = Assert.Throws<InvalidModelException>(() => Load(unfed));
        Assert.Contains("has inputs TokenGrid does not know how to feed: position_ids", e.Message, StringComparison.Ordinal);

        static void Load(string directory) =>
            DecoderModel.Load(directory, new ModelLoadOptions { ExecutionProvider = ExecutionProviderPreference.Cpu }).Dispose();
    }

    [Fact]
    public void An_onnx_community_folder_serves_onnx_model_onnx_with_config_json_from_the_root()
    {
        var directory = ModelFolders.OnnxCommunity(s_gqa, ModelFolders.LlamaConfig(s_gqa), ModelFolders.ChatGenerationConfig(s_gqa),
            ("model_fp16.onnx", s_gqa with { ExternalData = false }), ("model_q4.onnx", s_gqa with { ExternalData = false }));

        var config = Read(directory);
        Assert.Equal(Path.Combine(directory, "onnx", "model.onnx"), config.ModelPath);
        Assert.Equal(directory, config.Directory);
        Assert.Equal(("llama", 256, 998), (config.ModelType, config.ContextLength, config.BosTokenId));
        Assert.Equal([999, 997, 996], config.EosTokenIds);
        Assert.Empty(config.Notes);
    }

    [Fact]
    public void Several_onnx_files_and_nothing_choosing_one_are_refused_listing_them_and_naming_the_setting()
    {
        var directory = ModelFolders.OnnxCommunity(s_gqa, ModelFolders.LlamaConfig(s_gqa), null,
            ("model_q4.onnx", s_gqa with { ExternalData = false }), ("model_fp16.onnx", s_gqa with { ExternalData = false }));
        File.Delete(Path.Combine(directory, "onnx", "model.onnx"));

        var e = Assert.Throws<InvalidModelException>(() => ModelConfigReader.FindModelFile(directory));
        Assert.Contains("several .onnx files (onnx/model_fp16.onnx, onnx/model_q4.onnx)", e.Message, StringComparison.Ordinal);
        Assert.Contains("TokenGrid:Models:Entries:N:ModelFile", e.Message, StringComparison.Ordinal);
        Assert.Contains("--model-file", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);

        Assert.Equal(Path.Combine(directory, "onnx/model_q4.onnx"), ModelConfigReader.FindModelFile(directory, "onnx/model_q4.onnx"));
    }

    [Fact]
    public void A_model_file_that_does_not_exist_is_refused_naming_it()
    {
        var directory = ModelFolders.OnnxCommunity(s_gqa, ModelFolders.LlamaConfig(s_gqa), null);
        var e = Assert.Throws<InvalidModelException>(() => ModelConfigReader.FindModelFile(directory, "onnx/model_q8.onnx"));
        Assert.Contains("'onnx/model_q8.onnx' (the model's ModelFile setting) does not exist", e.Message, StringComparison.Ordinal);
    }

    private static DecoderModelConfig Read(string directory)
    {
        var modelPath = ModelConfigReader.FindModelFile(directory);
        using var session = new InferenceSession(modelPath);
        return ModelConfigReader.Read(directory, modelPath, session);
    }
}
