using Microsoft.ML.OnnxRuntime;

namespace TokenGrid.Inference.Models;

/// <summary>
/// Reads a model directory the way onnxruntime-genai reads it: <c>genai_config.json</c> where there is one, with
/// every field genai treats as optional defaulted as genai defaults it (names) or taken from the graph (shapes).
/// Without it (a Hugging Face Optimum export), the layout comes from the ONNX session's input/output metadata and
/// the rest from <c>config.json</c>. <c>generation_config.json</c>, where present, adds end-of-sequence ids and
/// default sampling. What was defaulted or ignored is reported as <see cref="ModelNote"/>s.
/// </summary>
public static partial class ModelConfigReader
{
    /// <summary>The onnxruntime-genai configuration file name.</summary>
    public const string GenAiConfigFile = "genai_config.json";

    /// <summary>The Hugging Face model configuration file name (Optimum exports copy it).</summary>
    public const string HuggingFaceConfigFile = "config.json";

    /// <summary>The Hugging Face generation configuration file name.</summary>
    public const string GenerationConfigFile = "generation_config.json";

    /// <summary>
    /// The subfolder transformers.js / onnx-community exports keep their graphs in (<c>onnx/model.onnx</c>,
    /// <c>onnx/model_q4.onnx</c>, ...), with <c>config.json</c>, <c>generation_config.json</c> and the tokenizer at the
    /// folder's root. Looked into when the root has no <c>.onnx</c> file.
    /// </summary>
    public const string OnnxSubfolder = "onnx";

    /// <summary>How the setting that picks a decoder file is named in messages (silo settings and the command line).</summary>
    public const string ModelFileSetting = "ModelFile (TokenGrid:Models:Entries:N:ModelFile, or --model-file on the command line)";

    // Decoder files in the order Optimum, transformers.js and the genai builder name them.
    private static readonly string[] s_candidateFiles = ["model.onnx", "decoder_model_merged.onnx", "decoder_with_past_model.onnx", "decoder_model.onnx"];

    /// <summary>
    /// Finds the decoder <c>.onnx</c> file of a model directory: <paramref name="modelFile"/> when given; else the file
    /// <c>genai_config.json</c> names; else, in the folder and then in its <see cref="OnnxSubfolder"/>, the first of
    /// <c>model.onnx</c>, <c>decoder_model_merged.onnx</c>, <c>decoder_with_past_model.onnx</c>, <c>decoder_model.onnx</c>,
    /// or the only <c>.onnx</c> file there.
    /// </summary>
    /// <param name="directory">The model directory (configuration and tokenizer files).</param>
    /// <param name="modelFile">
    /// The decoder file to use, relative to <paramref name="directory"/> (or absolute), e.g. <c>onnx/model_q4.onnx</c>;
    /// null to choose as above. It wins over <c>genai_config.json</c>'s <c>model.decoder.filename</c>, and does not change
    /// how the configuration is read.
    /// </param>
    /// <exception cref="InvalidModelException">No file, a named file that does not exist, or several files and nothing choosing one.</exception>
    public static string FindModelFile(string directory, string? modelFile = null)
    {
        if (!System.IO.Directory.Exists(directory))
        {
            throw new InvalidModelException($"Model directory '{directory}' does not exist.");
        }

        if (modelFile is not null)
        {
            var chosen = Path.Combine(directory, modelFile);
            return File.Exists(chosen) ? chosen
                : throw new InvalidModelException($"Model file '{modelFile}' (the model's ModelFile setting) does not exist in '{directory}'.");
        }

        var genai = ConfigFile.Load(Path.Combine(directory, GenAiConfigFile));
        if (genai?.String("model.decoder.filename") is { } configured)
        {
            var path = Path.Combine(directory, configured);
            return File.Exists(path) ? path
                : throw genai.Invalid("model.decoder.filename", $"names '{configured}', which does not exist");
        }

        foreach (var folder in new[] { directory, Path.Combine(directory, OnnxSubfolder) })
        {
            if (!System.IO.Directory.Exists(folder))
            {
                continue;
            }

            foreach (var name in s_candidateFiles)
            {
                var path = Path.Combine(folder, name);
                if (File.Exists(path))
                {
                    return path;
                }
            }

            var onnx = System.IO.Directory.GetFiles(folder, "*.onnx");
            if (onnx.Length == 1)
            {
                return onnx[0];
            }

            if (onnx.Length > 1)
            {
                var names = onnx.Select(f => Path.GetRelativePath(directory, f).Replace(Path.DirectorySeparatorChar, '/')).Order(StringComparer.Ordinal);
                throw new InvalidModelException(
                    $"Model directory '{directory}' has several .onnx files ({string.Join(", ", names)}), none named {string.Join(", ", s_candidateFiles)}, " +
                    $"and no {GenAiConfigFile} naming the decoder; choose one with the model's {ModelFileSetting}, a path relative to the folder.");
            }
        }

        throw new InvalidModelException($"Model directory '{directory}' has no .onnx file (looked in the folder and in its {OnnxSubfolder}/ subfolder).");
    }

    /// <summary>Reads the configuration of the model whose session is already open.</summary>
    /// <exception cref="InvalidModelException">A required field is missing or a file is malformed; the message names both.</exception>
    public static DecoderModelConfig Read(string directory, string modelPath, InferenceSession session)
    {
        var notes = new ModelNotes();
        var genai = ConfigFile.Load(Path.Combine(directory, GenAiConfigFile));
        var generation = ConfigFile.Load(Path.Combine(directory, GenerationConfigFile));
        var config = genai?.Object("model") is not null
            ? FromGenAi(directory, modelPath, genai, session, notes)
            : Discover(directory, modelPath, session, notes);

        var eos = MergeEndOfSequence(config.EosTokenIds, generation);
        var defaults = ReadGenerationDefaults(genai, generation, notes);
        return config with { EosTokenIds = eos, GenerationDefaults = defaults, Notes = notes.All };
    }

    private static string DirectoryName(string directory) => Path.GetFileName(Path.TrimEndingDirectorySeparator(directory));

    /// <summary>The layers whose past input the graph has, counting up from 0: how many layers a pattern names.</summary>
    private static int CountLayers(InferenceSession session, string pattern)
    {
        var layers = 0;
        while (session.InputMetadata.ContainsKey(DecoderIoNames.Format(pattern, layers)))
        {
            layers++;
        }

        return layers;
    }

    /// <summary>A fixed dimension of a graph input or output, or null when it is symbolic or absent.</summary>
    private static int? FixedDimension(NodeMetadata? meta, Index axis)
    {
        if (meta is null)
        {
            return null;
        }

        var dims = meta.Dimensions;
        var at = axis.GetOffset(dims.Length);
        return at >= 0 && at < dims.Length && dims[at] > 0 ? dims[at] : null;
    }
}
