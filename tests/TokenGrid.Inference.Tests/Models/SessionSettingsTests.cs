using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Microsoft.ML.OnnxRuntime;
using TokenGrid.Inference.Engine;
using TokenGrid.Inference.Models;
using TokenGrid.Inference.Runtime;
using TokenGrid.Inference.Tests.Support;

namespace TokenGrid.Inference.Tests.Models;

/// <summary>genai_config.json's session and provider options: honoured where they apply, otherwise one note each.</summary>
public sealed class SessionSettingsTests
{
    private static string FolderWithSessionOptions() => ModelFolders.WithEditedGenAiConfig(DemoModels.Tiny, c =>
    {
        c["model"]!["decoder"]!["session_options"] = new JsonObject
        {
            ["log_id"] = "onnxruntime-genai",
            ["intra_op_num_threads"] = 1,
            ["inter_op_num_threads"] = 1,
            ["log_severity_level"] = 3,
            ["graph_optimization_level"] = "ORT_ENABLE_BASIC",
            ["enable_profiling"] = "profile_",
            ["session.intra_op.allow_spinning"] = "0",
            ["provider_options"] = new JsonArray(
                new JsonObject { ["cuda"] = new JsonObject { ["enable_cuda_graph"] = "1", ["device_id"] = "1", ["arena_extend_strategy"] = "kSameAsRequested" } },
                new JsonObject { ["dml"] = new JsonObject { ["enable_graph_capture"] = "1" } },
                new JsonObject { ["webgpu"] = new JsonObject { ["enableGraphCapture"] = "0" } },
                new JsonObject { ["QNNExecutionProvider"] = new JsonObject() }),
        };
        c["search"] = new JsonObject { ["max_length"] = 256, ["past_present_share_buffer"] = true, ["num_beams"] = 4 };
    });

    [Fact]
    public void Session_options_are_read_and_those_not_applied_are_noted_once_each()
    {
        var settings = ModelConfigReader.ReadSessionSettings(FolderWithSessionOptions(), out var notes);

        Assert.Equal((1, 1, 3, "onnxruntime-genai", GraphOptimizationLevel.ORT_ENABLE_BASIC),
            (settings.IntraOpThreads, settings.InterOpThreads, settings.LogSeverityLevel, settings.LogId, settings.GraphOptimizationLevel));
        Assert.Equal(new Dictionary<string, string> { ["session.intra_op.allow_spinning"] = "0" }, settings.ConfigEntries);
        Assert.Equal(new Dictionary<string, string> { ["arena_extend_strategy"] = "kSameAsRequested" }, settings.CudaOptions);
        Assert.Equal(
        [
            "model.decoder.session_options.enable_profiling",
            "model.decoder.session_options.provider_options.cuda.device_id",
            "model.decoder.session_options.provider_options.cuda.enable_cuda_graph",
            "model.decoder.session_options.provider_options.dml",
            "model.decoder.session_options.provider_options.webgpu",
            "model.decoder.session_options.provider_options.QNNExecutionProvider",
        ], notes.Select(n => n.Field));
        Assert.All(notes, n => Assert.Equal(ModelNoteKind.Ignored, n.Kind));
        Assert.Contains("not in this build", notes.Single(n => n.Field.EndsWith(".dml", StringComparison.Ordinal)).Text, StringComparison.Ordinal);
    }

    [Fact]
    public void A_folder_without_session_options_has_no_settings()
    {
        Assert.Same(SessionSettings.None, ModelConfigReader.ReadSessionSettings(DemoModels.Get(DemoModels.Tiny), out var notes));
        Assert.Empty(notes);
    }

    [Fact]
    public async Task Auto_runs_a_folder_with_cuda_options_on_the_cpu_here_and_the_engine_logs_each_note_once()
    {
        var directory = FolderWithSessionOptions();
        using var model = DecoderModel.Load(directory, new ModelLoadOptions { ExecutionProvider = ExecutionProviderPreference.Auto });
        if (model.Provider == ExecutionProviderKind.Cuda)
        {
            return;
        }

        Assert.Contains("CUDA unavailable", model.ProviderFallbackReason);
        Assert.Equal(8, model.LoadNotes.Count);
        var logger = new ListLogger<InferenceEngine>();
        await using (var engine = new InferenceEngine(model, logger: logger))
        {
            var submitted = engine.Submit(EngineRun.Greedy([1, 2, 3], 4));
            Assert.Equal(4, (await submitted.Stream!.Completion).CompletionTokens);
        }

        var warnings = logger.Lines.Where(l => l.Level == LogLevel.Warning).Select(l => l.Message).ToList();
        Assert.Equal(model.LoadNotes.Select(n => $"Model {model.Name}: {n}"), warnings);
        Assert.Contains(warnings, w => w.Contains("search.past_present_share_buffer ignored", StringComparison.Ordinal));
        Assert.Contains(warnings, w => w.Contains("search.num_beams ignored", StringComparison.Ordinal));
    }

    [Fact]
    public void Cuda_with_provider_options_fails_clearly_where_cuda_is_missing()
    {
        var directory = FolderWithSessionOptions();
        using (var auto = DecoderModel.Load(directory, new ModelLoadOptions { ExecutionProvider = ExecutionProviderPreference.Auto }))
        {
            if (auto.Provider == ExecutionProviderKind.Cuda)
            {
                return;
            }
        }

        var e = Assert.Throws<ExecutionProviderUnavailableException>(
            () => DecoderModel.Load(directory, new ModelLoadOptions { ExecutionProvider = ExecutionProviderPreference.Cuda }));
        Assert.Contains("CUDA execution provider was required", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_custom_ops_library_that_does_not_exist_is_refused_naming_the_field()
    {
        var directory = ModelFolders.WithEditedGenAiConfig(DemoModels.Tiny, c =>
            c["model"]!["decoder"]!["session_options"] = new JsonObject { ["custom_ops_library"] = "libmissing_ops.so" });
        var e = Assert.Throws<InvalidModelException>(() => DecoderModel.Load(directory, new ModelLoadOptions { ExecutionProvider = ExecutionProviderPreference.Cpu }));
        Assert.Contains("field 'model.decoder.session_options.custom_ops_library' names", e.Message, StringComparison.Ordinal);
    }
}
