namespace TokenGrid.Grains.Catalog;

/// <summary>A conversation the model's chat format cannot render, with a reason fit for the caller (a 400).</summary>
public sealed class ChatRenderException(string message, Exception? inner = null) : Exception(message, inner);
