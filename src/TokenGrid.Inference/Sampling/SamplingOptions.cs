namespace TokenGrid.Inference.Sampling;

/// <summary>How the next token is chosen from the logits.</summary>
public sealed record SamplingOptions
{
    /// <summary>Always take the most likely token.</summary>
    public static SamplingOptions Greedy { get; } = new() { Temperature = 0 };

    /// <summary>Softmax temperature; below <see cref="GreedyTemperature"/> (0 included) means greedy. Default: 1.</summary>
    public float Temperature { get; init; } = 1f;

    /// <summary>
    /// Temperatures below this are greedy, as in vLLM (its <c>_SAMPLING_EPS</c>): so small a temperature means greedy, and
    /// dividing by a float denormal overflows to infinity, where the most likely token's (logit − max) · ∞ is NaN.
    /// </summary>
    public const float GreedyTemperature = 1e-5f;

    /// <summary>Nucleus sampling: keep the smallest set of tokens whose probability reaches this. Default: 1 (off).</summary>
    public float TopP { get; init; } = 1f;

    /// <summary>Keep only the K most likely tokens; 0 is off. Default: 0.</summary>
    public int TopK { get; init; }

    /// <summary>Seed for reproducible sampling; null draws one. Default: null.</summary>
    public ulong? Seed { get; init; }

    /// <summary>
    /// Min-p: drop tokens whose probability is below this fraction of the most likely token's (vLLM's <c>min_p</c>);
    /// 0 is off. Default: 0.
    /// </summary>
    public float MinP { get; init; }

    /// <summary>
    /// OpenAI's <c>presence_penalty</c>, −2 to 2: subtracted once from the logit of every token already generated in
    /// this sequence. 0 is off. Default: 0.
    /// </summary>
    public float PresencePenalty { get; init; }

    /// <summary>
    /// OpenAI's <c>frequency_penalty</c>, −2 to 2: subtracted from a token's logit once per time it was generated in
    /// this sequence. 0 is off. Default: 0.
    /// </summary>
    public float FrequencyPenalty { get; init; }

    /// <summary>
    /// vLLM's and transformers' <c>repetition_penalty</c>, above 0: the logit of every token seen in the prompt or the
    /// output is divided by it when positive and multiplied by it when negative. 1 is off. Default: 1.
    /// </summary>
    public float RepetitionPenalty { get; init; } = 1f;

    /// <summary>The largest <see cref="RepetitionPenalty"/> taken: beyond it a seen token's logit is as good as banned anyway.</summary>
    public const float MaxRepetitionPenalty = 100f;

    /// <summary>
    /// OpenAI's <c>logit_bias</c>: added to the logits of the given token ids before sampling (−100 bans a token, 100
    /// makes it all but certain). Default: none.
    /// </summary>
    public IReadOnlyDictionary<int, float> LogitBias { get; init; } = new Dictionary<int, float>();

    /// <summary>True when no randomness is involved.</summary>
    public bool IsGreedy => Temperature < GreedyTemperature || TopK == 1;

    /// <summary>A reason these options are invalid, or null.</summary>
    public string? Validate() =>
        Temperature is < 0f or > 100f or float.NaN ? "temperature must be between 0 and 100"
        : TopP is <= 0f or > 1f or float.NaN ? "top_p must be in (0, 1]"
        : TopK < 0 ? "top_k must not be negative"
        : MinP is < 0f or > 1f or float.NaN ? "min_p must be between 0 and 1"
        : PresencePenalty is < -2f or > 2f or float.NaN ? "presence_penalty must be between -2 and 2"
        : FrequencyPenalty is < -2f or > 2f or float.NaN ? "frequency_penalty must be between -2 and 2"
        : RepetitionPenalty is <= 0f or > MaxRepetitionPenalty or float.NaN ? "repetition_penalty must be above 0 (and at most 100)"
        : LogitBias is null ? "logit_bias must not be null"
        : LogitBias.Any(b => b.Value is < -100f or > 100f or float.NaN) ? "logit_bias values must be between -100 and 100"
        : null;
}
