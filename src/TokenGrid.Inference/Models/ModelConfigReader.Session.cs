using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.ML.OnnxRuntime;
using TokenGrid.Inference.Runtime;

namespace TokenGrid.Inference.Models;

public static partial class ModelConfigReader
{
    private const string SessionOptionsField = "model.decoder.session_options";

    // Session options onnxruntime-genai reads by name; every other value goes to AddSessionConfigEntry, as genai does.
    private static readonly HashSet<string> s_namedSessionOptions =
    [
        "log_id", "enable_profiling", "intra_op_num_threads", "inter_op_num_threads", "log_severity_level", "log_verbosity_level",
        "enable_cpu_mem_arena", "enable_mem_pattern", "graph_optimization_level", "custom_ops_library", "provider_options",
    ];

    /// <summary>
    /// The ONNX Runtime session settings of <c>genai_config.json</c>'s <c>model.decoder.session_options</c>
    /// (none without the file). Settings TokenGrid does not apply are noted, one note each.
    /// </summary>
    public static SessionSettings ReadSessionSettings(string directory, out IReadOnlyList<ModelNote> notes)
    {
        var collected = new ModelNotes();
        var settings = ReadSessionSettings(directory, collected);
        notes = collected.All;
        return settings;
    }

    private static SessionSettings ReadSessionSettings(string directory, ModelNotes notes)
    {
        var file = ConfigFile.Load(Path.Combine(directory, GenAiConfigFile));
        if (file?.Object(SessionOptionsField) is not { } options)
        {
            return SessionSettings.None;
        }

        const string o = SessionOptionsField + ".";
        if (file.String(o + "enable_profiling") is { } profile)
        {
            notes.Ignored(file.Name, o + "enable_profiling",
                $"'{profile}': a served session runs for days and ONNX Runtime would collect its profile in memory until it ends");
        }

        var library = file.String(o + "custom_ops_library") is { } name ? Path.GetFullPath(Path.Combine(directory, name)) : null;
        if (library is not null && !File.Exists(library))
        {
            throw file.Invalid(o + "custom_ops_library", $"names '{library}', which does not exist");
        }

        return new SessionSettings
        {
            IntraOpThreads = file.PositiveInt(o + "intra_op_num_threads"),
            InterOpThreads = file.PositiveInt(o + "inter_op_num_threads"),
            LogSeverityLevel = file.Int(o + "log_severity_level"),
            LogVerbosityLevel = file.Int(o + "log_verbosity_level"),
            LogId = file.String(o + "log_id"),
            GraphOptimizationLevel = file.String(o + "graph_optimization_level") switch
            {
                null => null,
                "ORT_DISABLE_ALL" => GraphOptimizationLevel.ORT_DISABLE_ALL,
                "ORT_ENABLE_BASIC" => GraphOptimizationLevel.ORT_ENABLE_BASIC,
                "ORT_ENABLE_EXTENDED" => GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
                "ORT_ENABLE_ALL" => GraphOptimizationLevel.ORT_ENABLE_ALL,
                var other => throw file.Invalid(o + "graph_optimization_level", $"must be ORT_DISABLE_ALL, ORT_ENABLE_BASIC, ORT_ENABLE_EXTENDED or ORT_ENABLE_ALL, not '{other}'"),
            },
            EnableCpuMemArena = file.Bool(o + "enable_cpu_mem_arena"),
            EnableMemoryPattern = file.Bool(o + "enable_mem_pattern"),
            CustomOpsLibrary = library,
            ConfigEntries = options.Where(p => !s_namedSessionOptions.Contains(p.Key) && p.Value is JsonValue)
                .ToDictionary(p => p.Key, p => Text(p.Value!)),
            CudaOptions = ReadProviderOptions(file, notes),
        };
    }

    /// <summary>
    /// <c>provider_options</c>: a list of one-key objects, provider name to its options. CUDA's options are kept for
    /// when the session runs on CUDA; other providers are not in this build and are noted.
    /// </summary>
    private static Dictionary<string, string> ReadProviderOptions(ConfigFile file, ModelNotes notes)
    {
        const string field = SessionOptionsField + ".provider_options";
        var cuda = new Dictionary<string, string>();
        foreach (var entry in file.Array(field) ?? [])
        {
            if (entry is not JsonObject providers)
            {
                throw file.Invalid(field, $"must hold objects, not {entry?.ToJsonString() ?? "null"}");
            }

            foreach (var (name, value) in providers)
            {
                var provider = NormalizeProvider(name);
                var values = value as JsonObject ?? [];
                switch (provider)
                {
                    case "cpu":
                        break;
                    case "cuda":
                        foreach (var (key, option) in values.Where(p => p.Value is JsonValue))
                        {
                            cuda[key] = Text(option!);
                        }

                        TakeOut(cuda, "device_id", $"{field}.cuda.device_id", "the node's configuration chooses the device");
                        if (cuda.TryGetValue("enable_cuda_graph", out var graph) && graph != "0")
                        {
                            TakeOut(cuda, "enable_cuda_graph", $"{field}.cuda.enable_cuda_graph",
                                "CUDA graphs replay fixed shapes and buffers, while the engine's batch and cache change shape every step");
                        }

                        break;
                    case "dml":
                        notes.Ignored(file.Name, $"{field}.{name}", "DirectML is a Windows provider and is not in this build; the node's provider (auto, cuda or cpu) applies");
                        break;
                    case "webgpu":
                        notes.Ignored(file.Name, $"{field}.{name}", "WebGPU is not in this build; the node's provider (auto, cuda or cpu) applies");
                        break;
                    default:
                        notes.Ignored(file.Name, $"{field}.{name}", "this build has the CUDA and CPU providers only; the node's provider (auto, cuda or cpu) applies");
                        break;
                }
            }
        }

        return cuda;

        void TakeOut(Dictionary<string, string> options, string key, string path, string why)
        {
            if (options.Remove(key, out var removed))
            {
                notes.Ignored(file.Name, path, $"'{removed}': {why}");
            }
        }
    }

    /// <summary>genai's provider name normalisation: case-insensitive, with or without "ExecutionProvider".</summary>
    private static string NormalizeProvider(string name)
    {
        var lower = name.ToLowerInvariant();
        const string suffix = "executionprovider";
        return lower.Length > suffix.Length && lower.EndsWith(suffix, StringComparison.Ordinal) ? lower[..^suffix.Length] : lower;
    }

    private static string Text(JsonNode value) => value is JsonValue v && v.GetValueKind() == JsonValueKind.String
        ? v.GetValue<string>()
        : value.ToJsonString();
}
