using TokenGrid.Abstractions.Jobs;
using TokenGrid.Grains.Models;

namespace TokenGrid.Silo.Generation;

/// <summary>A validated generation request: tokenized, capped and ready to become a <see cref="JobSpec"/>.</summary>
/// <param name="Model">The catalog model.</param>
/// <param name="PromptTokens">Prompt as token ids of the model.</param>
/// <param name="MaxTokens">Most tokens to generate, within the model's context.</param>
/// <param name="Sampling">Sampling settings.</param>
/// <param name="Stop">Stop sequences (the request's and, for chat, the template's).</param>
internal sealed record GenerationPlan(CatalogModel Model, int[] PromptTokens, int MaxTokens, JobSampling Sampling, string[] Stop)
{
    /// <summary>The job for <paramref name="tenantId"/>.</summary>
    public JobSpec ToJobSpec(string tenantId, bool keepOutput, TimeSpan timeout) => new()
    {
        TenantId = tenantId,
        Model = Model.Name,
        PromptTokens = PromptTokens,
        MaxTokens = MaxTokens,
        Sampling = Sampling,
        Stop = Stop,
        KeepOutput = keepOutput,
        Timeout = timeout,
    };
}

/// <summary>The generation fields shared by completions, chat completions and jobs, before validation.</summary>
internal sealed record GenerationFields(
    string? Model,
    int? MaxTokens,
    float? Temperature,
    float? TopP,
    int? TopK,
    long? Seed,
    System.Text.Json.JsonElement Stop,
    int? N);
