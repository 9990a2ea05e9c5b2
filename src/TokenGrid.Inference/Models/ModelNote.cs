namespace TokenGrid.Inference.Models;

/// <summary>What a load note reports.</summary>
public enum ModelNoteKind
{
    /// <summary>A field the files do not give was derived or defaulted (as onnxruntime-genai would default it).</summary>
    Defaulted,

    /// <summary>A setting the files give is not applied by TokenGrid; the note says why.</summary>
    Ignored,
}

/// <summary>
/// One thing worth a log line about how a model directory was read: a value TokenGrid defaulted or a setting
/// it ignores. Loading never fails for a note; the engine logs each once when it starts
/// (<see cref="DecoderModel.LoadNotes"/>).
/// </summary>
/// <param name="Kind">Defaulted or ignored.</param>
/// <param name="Source">The file the field belongs to (or would belong to), e.g. <c>genai_config.json</c>.</param>
/// <param name="Field">The field's dotted path, e.g. <c>search.past_present_share_buffer</c>.</param>
/// <param name="Text">What was done and why.</param>
public sealed record ModelNote(ModelNoteKind Kind, string Source, string Field, string Text)
{
    /// <inheritdoc />
    public override string ToString() => $"{Source}: {Field} {(Kind == ModelNoteKind.Ignored ? "ignored" : "defaulted")}: {Text}";
}

/// <summary>Collects the notes of one model load.</summary>
internal sealed class ModelNotes
{
    private readonly List<ModelNote> _notes = [];

    public IReadOnlyList<ModelNote> All => _notes;

    public void Defaulted(string source, string field, string text) => _notes.Add(new ModelNote(ModelNoteKind.Defaulted, source, field, text));

    public void Ignored(string source, string field, string text) => _notes.Add(new ModelNote(ModelNoteKind.Ignored, source, field, text));
}
