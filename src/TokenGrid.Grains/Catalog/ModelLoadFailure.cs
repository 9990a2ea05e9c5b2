using Microsoft.ML.OnnxRuntime;
using TokenGrid.Inference.Models;

namespace TokenGrid.Grains.Catalog;

/// <summary>
/// A configured model this silo could not read, with the reason in one line (the file and field where the reader
/// could tell) and a bounded <see cref="Code"/> for metrics. The silo serves its other models without it.
/// </summary>
/// <param name="Name">The name clients would ask for.</param>
/// <param name="Directory">The configured model directory (<c>demo</c> for the built-in model).</param>
/// <param name="Code">
/// What kind of failure: <c>invalid_model</c> (the folder is not a model TokenGrid can serve: a missing or malformed
/// file or field), <c>onnx_runtime</c> (ONNX Runtime refused the graph or a provider), <c>io</c> (a file could not be
/// read) or <c>error</c> (anything else).
/// </param>
/// <param name="Reason">One line saying why, without a stack trace.</param>
public sealed record ModelLoadFailure(string Name, string Directory, string Code, string Reason)
{
    /// <summary>Describes <paramref name="error"/>, thrown while reading the model <paramref name="name"/>.</summary>
    public static ModelLoadFailure From(string name, string directory, Exception error)
    {
        ArgumentNullException.ThrowIfNull(error);
        var code = error switch
        {
            InvalidModelException => "invalid_model",
            OnnxRuntimeException => "onnx_runtime",
            IOException or UnauthorizedAccessException => "io",
            _ => "error",
        };
        var reason = error is InvalidModelException or OnnxRuntimeException or IOException or UnauthorizedAccessException
            ? error.Message
            : $"{error.GetType().Name}: {error.Message}";
        return new ModelLoadFailure(name, directory, code, OneLine(reason));
    }

    // ONNX Runtime's messages carry the native call site over several lines; a log line and a metric reason stay one.
    private static string OneLine(string text) =>
        string.Join(' ', text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}
