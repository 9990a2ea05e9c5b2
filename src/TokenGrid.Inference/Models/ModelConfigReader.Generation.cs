using System.Globalization;
using TokenGrid.Inference.Sampling;

namespace TokenGrid.Inference.Models;

public static partial class ModelConfigReader
{
    /// <summary>The model's end-of-sequence ids followed by any more that generation_config.json names.</summary>
    private static IReadOnlyList<int> MergeEndOfSequence(IReadOnlyList<int> eos, ConfigFile? generation) =>
        generation is null ? eos : [.. eos.Concat(generation.Ids("eos_token_id")).Distinct()];

    /// <summary>
    /// Default sampling: genai_config.json's <c>search</c> section first (onnxruntime-genai reads only that; its
    /// builder copies generation_config.json into it), then generation_config.json for fields <c>search</c> lacks.
    /// Search settings TokenGrid does not apply are noted.
    /// </summary>
    private static GenerationDefaults ReadGenerationDefaults(ConfigFile? genai, ConfigFile? generation, ModelNotes notes)
    {
        var fromSearch = genai is null ? GenerationDefaults.None : Defaults(genai, "search.");
        var fromGeneration = generation is null ? GenerationDefaults.None : Defaults(generation, "");
        if (genai is not null)
        {
            NoteIgnoredSearch(genai, notes);
        }

        if (generation is not null)
        {
            NoteIgnored(generation, notes, "", "num_beams", n => n > 1, "beam search is not supported; requests decode one sequence");
        }

        var merged = new GenerationDefaults
        {
            DoSample = fromSearch.DoSample ?? fromGeneration.DoSample,
            Temperature = fromSearch.Temperature ?? fromGeneration.Temperature,
            TopP = fromSearch.TopP ?? fromGeneration.TopP,
            TopK = fromSearch.TopK ?? fromGeneration.TopK,
            MinP = fromSearch.MinP ?? fromGeneration.MinP,
            RepetitionPenalty = fromSearch.RepetitionPenalty ?? fromGeneration.RepetitionPenalty,
            MaxLength = fromSearch.MaxLength ?? fromGeneration.MaxLength,
        };

        // A value the sampler would refuse is left out (the request's own, or the sampler's default, applies), with a note.
        if (merged.RepetitionPenalty is { } penalty && penalty is not (> 0f and <= SamplingOptions.MaxRepetitionPenalty))
        {
            var (file, field) = Where(fromSearch.RepetitionPenalty is not null, "repetition_penalty");
            notes.Ignored(file, field, $"{Show(penalty)}: a repetition penalty must be above 0 and at most {Show(SamplingOptions.MaxRepetitionPenalty)} (1 is off)");
            merged = merged with { RepetitionPenalty = null };
        }

        if (merged.MinP is { } minP && minP is not (>= 0f and <= 1f))
        {
            var (file, field) = Where(fromSearch.MinP is not null, "min_p");
            notes.Ignored(file, field, $"{Show(minP)}: min_p must be between 0 and 1");
            merged = merged with { MinP = null };
        }

        return merged.IsEmpty ? GenerationDefaults.None : merged;

        (string File, string Field) Where(bool inSearch, string field) =>
            inSearch ? (genai!.Name, "search." + field) : (generation!.Name, field);

        static string Show(float value) => value.ToString(CultureInfo.InvariantCulture);
    }

    private static GenerationDefaults Defaults(ConfigFile file, string prefix) => new()
    {
        DoSample = file.Bool(prefix + "do_sample"),
        Temperature = (float?)file.Number(prefix + "temperature"),
        TopP = (float?)file.Number(prefix + "top_p"),
        TopK = file.Int(prefix + "top_k"),
        MinP = (float?)file.Number(prefix + "min_p"),
        RepetitionPenalty = (float?)file.Number(prefix + "repetition_penalty"),
        MaxLength = file.PositiveInt(prefix + "max_length"),
    };

    /// <summary>One note for each search setting that is set to something TokenGrid would not do.</summary>
    private static void NoteIgnoredSearch(ConfigFile genai, ModelNotes notes)
    {
        const string s = "search.";
        if (genai.Bool(s + "past_present_share_buffer") == true)
        {
            notes.Ignored(genai.Name, s + "past_present_share_buffer",
                "TokenGrid's engine manages its own cache buffers (a ping-pong pair per batch, regrown as the batch changes), so past and present never share one");
        }

        NoteIgnored(genai, notes, s, "num_beams", n => n > 1, "beam search is not supported; requests decode one sequence");
        NoteIgnored(genai, notes, s, "num_return_sequences", n => n > 1, "a request decodes one sequence");
        NoteIgnored(genai, notes, s, "min_length", n => n > 0, "requests end at their own stop conditions");
        NoteIgnored(genai, notes, s, "no_repeat_ngram_size", n => n > 0, "TokenGrid's sampler does not block repeated n-grams");
        NoteIgnored(genai, notes, s, "batch_size", n => n > 1, "the engine batches requests itself");
        NoteIgnored(genai, notes, s, "chunk_size", n => n > 0, "the engine chunks prefill by its own PrefillChunkTokens option");
        NoteIgnored(genai, notes, s, "random_seed", n => n >= 0, "each request samples from its own random state");
    }

    private static void NoteIgnored(ConfigFile file, ModelNotes notes, string prefix, string field, Func<double, bool> set, string why)
    {
        if (file.Number(prefix + field) is { } value && set(value))
        {
            notes.Ignored(file.Name, prefix + field, $"{value.ToString(CultureInfo.InvariantCulture)}: {why}");
        }
    }
}
