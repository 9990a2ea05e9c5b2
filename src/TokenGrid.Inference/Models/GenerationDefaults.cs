namespace TokenGrid.Inference.Models;

/// <summary>
/// The model's own default sampling, from the <c>search</c> section of <c>genai_config.json</c> and from
/// <c>generation_config.json</c> (the first file that states a field wins, in that order, as onnxruntime-genai's
/// builder already copies <c>generation_config.json</c> into <c>search</c>). Every field is null when neither file
/// states it. A request's own values win; these apply only where a request gives none. A repetition penalty or min_p
/// the sampler would refuse is left out, with a load note.
/// </summary>
public sealed record GenerationDefaults
{
    /// <summary>No defaults: neither file states anything.</summary>
    public static GenerationDefaults None { get; } = new();

    /// <summary>
    /// Whether the model samples by default. False means greedy decoding whatever <see cref="Temperature"/> says
    /// (onnxruntime-genai and transformers both take the top token then), so the default temperature is 0:
    /// see <see cref="DefaultTemperature"/>.
    /// </summary>
    public bool? DoSample { get; init; }

    /// <summary>Sampling temperature, as the file states it.</summary>
    public float? Temperature { get; init; }

    /// <summary>Nucleus sampling mass (top_p), as the file states it.</summary>
    public float? TopP { get; init; }

    /// <summary>Top-k cut-off, as the file states it (0 means no cut-off).</summary>
    public int? TopK { get; init; }

    /// <summary>Min-p cut-off (vLLM's and transformers' <c>min_p</c>, 0 to 1; 0 is off), as the file states it.</summary>
    public float? MinP { get; init; }

    /// <summary>
    /// Repetition penalty (transformers' and vLLM's <c>repetition_penalty</c>, above 0 and at most
    /// <see cref="Sampling.SamplingOptions.MaxRepetitionPenalty"/>; 1 is off), as the file states it. Applied to requests
    /// that give none, as vLLM applies a model's generation_config.json.
    /// </summary>
    public float? RepetitionPenalty { get; init; }

    /// <summary>Prompt plus generated tokens (<c>search.max_length</c> or <c>max_length</c>), as the file states it.</summary>
    public int? MaxLength { get; init; }

    /// <summary>
    /// The temperature for a request that gives none: 0 (greedy) when <see cref="DoSample"/> is false,
    /// otherwise <see cref="Temperature"/> (null when no file states one).
    /// </summary>
    public float? DefaultTemperature => DoSample == false ? 0f : Temperature;

    /// <summary>True when no field is stated.</summary>
    public bool IsEmpty => this == None;
}
