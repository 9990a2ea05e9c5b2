namespace TokenGrid.Grains.Catalog;

/// <summary>
/// The model's own default sampling (genai_config.json's search section, generation_config.json); null where neither
/// file states it. A request's own values win.
/// </summary>
/// <param name="Temperature">The temperature for a request that gives none (0 when the model does not sample by default).</param>
/// <param name="TopP">Nucleus sampling mass.</param>
/// <param name="TopK">Top-k cut-off (0 means none).</param>
/// <param name="RepetitionPenalty">Repetition penalty (1 is off), as vLLM takes it from generation_config.json.</param>
/// <param name="MinP">Min-p cut-off (0 is off).</param>
public sealed record ModelSamplingDefaults(float? Temperature, float? TopP, int? TopK, float? RepetitionPenalty = null, float? MinP = null);
