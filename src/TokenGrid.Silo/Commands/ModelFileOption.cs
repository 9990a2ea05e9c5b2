using System.CommandLine;

namespace TokenGrid.Silo.Commands;

/// <summary>
/// <c>--model-file PATH</c>: the decoder file of the model folder to use, relative to the folder (the command-line
/// form of the <c>TokenGrid:Models:Entries:N:ModelFile</c> setting). Default: chosen as the silo chooses it.
/// </summary>
internal static class ModelFileOption
{
    /// <summary>A new <c>--model-file</c> option (an option belongs to one command).</summary>
    public static Option<string?> Create() => new("--model-file")
    {
        Description = "The decoder file to use, relative to the model folder (e.g. onnx/model_q4.onnx for one variant of a transformers.js folder). "
            + "Default: genai_config.json's, else model.onnx, decoder_model_merged.onnx, ... or the only .onnx file, in the folder and then in onnx/.",
        HelpName = "PATH",
    };
}
