namespace TokenGrid.Inference.Models;

/// <summary>A model directory or ONNX graph that TokenGrid cannot serve, with the reason.</summary>
public sealed class InvalidModelException(string message, Exception? inner = null) : Exception(message, inner);
