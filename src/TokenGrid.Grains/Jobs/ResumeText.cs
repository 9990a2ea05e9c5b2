using System.Text;
using TokenGrid.Grains.Models;
using TokenGrid.Inference.Tokenizers;

namespace TokenGrid.Grains.Jobs;

/// <summary>
/// The text of a resumed run, decoded by the job itself. After a preemption the node's detokenizer starts afresh, so a
/// character split across the preemption (multi-byte UTF-8), or a token decoded in context, would come out wrong. This
/// detokenizer is first fed every token produced before the preemption (its output discarded: the client has it), so it
/// holds exactly what the first run's detokenizer held back, and the stream continues as if never interrupted.
/// </summary>
internal sealed class ResumeText
{
    private readonly StreamingDetokenizer _detokenizer;
    private readonly HashSet<int> _endOfSequence;

    private ResumeText(CatalogModel model, IEnumerable<int> produced)
    {
        _detokenizer = new StreamingDetokenizer(model.Tokenizer);
        _endOfSequence = [.. model.Config.EosTokenIds];
        foreach (var token in produced)
        {
            _detokenizer.Append(token);
        }
    }

    /// <summary>A detokenizer primed with <paramref name="produced"/>, or null when this silo does not know the model.</summary>
    public static ResumeText? Create(ModelCatalog catalog, string model, IEnumerable<int> produced) =>
        catalog.TryGet(model, out var known) ? new ResumeText(known, produced) : null;

    /// <summary>The text a stream of <paramref name="tokens"/> carried so far, or "" when this silo does not know the model.</summary>
    public static string Decode(ModelCatalog catalog, string model, IEnumerable<int> tokens) =>
        catalog.TryGet(model, out var known) ? new ResumeText(known, []).Append(tokens) : "";

    /// <summary>The text <paramref name="tokens"/> complete (the end-of-sequence token has none, as on the node).</summary>
    public string Append(IEnumerable<int> tokens)
    {
        var text = new StringBuilder();
        foreach (var token in tokens)
        {
            if (!_endOfSequence.Contains(token))
            {
                text.Append(_detokenizer.Append(token));
            }
        }

        return text.ToString();
    }

    /// <summary>Whatever is still held back when the run ends.</summary>
    public string Flush() => _detokenizer.Flush();
}
