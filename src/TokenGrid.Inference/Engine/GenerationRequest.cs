using TokenGrid.Inference.Sampling;

namespace TokenGrid.Inference.Engine;

/// <summary>One sequence to generate.</summary>
public sealed record GenerationRequest
{
    /// <summary>The prompt as token ids of the engine's model.</summary>
    public required IReadOnlyList<int> PromptTokens { get; init; }

    /// <summary>Most tokens to generate; capped so prompt plus output fit the context. Default: 16.</summary>
    public int MaxTokens { get; init; } = 16;

    /// <summary>Sampling. Default: greedy.</summary>
    public SamplingOptions Sampling { get; init; } = SamplingOptions.Greedy;

    /// <summary>Text that ends the output; the output excludes it. Default: none.</summary>
    public IReadOnlyList<string> StopSequences { get; init; } = [];

    /// <summary>Keep generating past the end-of-sequence token (benchmarks). Default: false.</summary>
    public bool IgnoreEndOfSequence { get; init; }
}

/// <summary>One generated token and the text it releases.</summary>
/// <param name="TokenId">The sampled id.</param>
/// <param name="Text">
/// Text released with this token: empty while it is held back (part of a multi-byte character, a
/// possible stop sequence) and for the end-of-sequence token; held text is released with a later token.
/// Concatenated, the texts are exactly <see cref="GenerationResult.Text"/>.
/// </param>
public readonly record struct GeneratedToken(int TokenId, string Text);

/// <summary>Why a sequence ended.</summary>
public enum FinishReason
{
    /// <summary>End-of-sequence token or a stop sequence.</summary>
    Stop,

    /// <summary>Reached <see cref="GenerationRequest.MaxTokens"/> or the context length.</summary>
    Length,

    /// <summary>The caller cancelled.</summary>
    Cancelled,

    /// <summary>The model run failed; see <see cref="GenerationResult.Error"/>.</summary>
    Failed,
}

/// <summary>The outcome of one sequence, with exact usage.</summary>
/// <param name="FinishReason">Why it ended.</param>
/// <param name="PromptTokens">Prompt tokens, as given.</param>
/// <param name="CompletionTokens">Tokens sampled by the model, including an end-of-sequence token and any token that completed a stop sequence.</param>
/// <param name="Text">The output text, without a stop sequence.</param>
/// <param name="Error">What failed, when <see cref="FinishReason.Failed"/>.</param>
/// <param name="TimeToFirstToken">From submission to the first token; null when none was produced.</param>
/// <param name="Elapsed">From submission to the end.</param>
public sealed record GenerationResult(
    FinishReason FinishReason,
    int PromptTokens,
    int CompletionTokens,
    string Text,
    string? Error,
    TimeSpan? TimeToFirstToken,
    TimeSpan Elapsed);
