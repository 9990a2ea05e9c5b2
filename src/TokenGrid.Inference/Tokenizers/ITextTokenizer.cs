namespace TokenGrid.Inference.Tokenizers;

/// <summary>The engine behind a <see cref="ModelTokenizer"/>: ours for tokenizer.json, Microsoft.ML.Tokenizers' for the rest.</summary>
internal interface ITextTokenizer
{
    int[] Encode(string text, bool addSpecialTokens);

    string Decode(IEnumerable<int> ids, bool skipSpecialTokens);

    byte[] TokenBytes(int id);
}
