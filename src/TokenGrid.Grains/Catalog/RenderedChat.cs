namespace TokenGrid.Grains.Catalog;

/// <summary>A conversation rendered with a model's chat format (see <see cref="CatalogModel.RenderChat"/>).</summary>
/// <param name="PromptTokens">The prompt's token ids, special tokens written by the template once.</param>
/// <param name="StopSequences">
/// Text that ends the assistant's turn besides the model's end-of-sequence ids: the template's <c>eos_token</c>, or the
/// fallback's own markers.
/// </param>
public sealed record RenderedChat(int[] PromptTokens, IReadOnlyList<string> StopSequences);
