using System.Text.Json.Serialization;
using TokenGrid.Abstractions.Jobs;

namespace TokenGrid.Abstractions.Nodes;

/// <summary>A node's live load, reported to the registry every few seconds.</summary>
[GenerateSerializer, Immutable, Alias("tg.NodeReport")]
public sealed record NodeReport
{
    /// <summary>Node id: <c>{silo}/{device}</c>, for example <c>silo-a/cpu0</c>.</summary>
    [Id(0)] public required string NodeId { get; init; }

    /// <summary>The silo hosting the device.</summary>
    [Id(1)] public required string Silo { get; init; }

    /// <summary>Device name (<c>cpu0</c>, <c>gpu0</c>).</summary>
    [Id(2)] public required string Device { get; init; }

    /// <summary>Execution provider in use (<c>Cpu</c>, <c>Cuda</c>).</summary>
    [Id(3)] public required string Provider { get; init; }

    /// <summary>Models loaded on the node.</summary>
    [Id(4)] public required string[] Models { get; init; }

    /// <summary>Tokens per second over the last 10 seconds.</summary>
    [Id(5)] public double TokensPerSecond10s { get; init; }

    /// <summary>Tokens per second over the last 60 seconds.</summary>
    [Id(6)] public double TokensPerSecond60s { get; init; }

    /// <summary>Sequences decoding or prefilling.</summary>
    [Id(7)] public int ActiveSequences { get; init; }

    /// <summary>Sequences waiting in the engines' queues.</summary>
    [Id(8)] public int QueuedSequences { get; init; }

    /// <summary>Batch capacity (sum over the node's engines).</summary>
    [Id(9)] public int MaxBatchSize { get; init; }

    /// <summary>Tokens generated since the node started.</summary>
    [Id(10)] public long TokensGenerated { get; init; }

    /// <summary>When the report was made.</summary>
    [Id(11)] public DateTimeOffset ReportedAt { get; init; }

    /// <summary>Why CUDA was not used where asked for, otherwise null.</summary>
    [Id(12)] public string? ProviderFallbackReason { get; init; }

    /// <summary>Labels from configuration (region, zone, accelerator, pool); placement constraints match them.</summary>
    [Id(13)] public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();

    /// <summary>Models the node can load on demand (a superset of <see cref="Models"/>, which are loaded now).</summary>
    [Id(14)] public string[] LoadableModels { get; init; } = [];

    /// <summary>An administrator asked the node to drain: it takes no new placements.</summary>
    [Id(15)] public bool Draining { get; init; }

    /// <summary>Draining and nothing left running.</summary>
    [Id(16)] public bool Drained { get; init; }

    /// <summary>Bytes the node may spend on loaded models (weights and KV cache); 0: unlimited.</summary>
    [Id(17)] public long MemoryBudgetBytes { get; init; }

    /// <summary>Bytes the loaded models take now (estimated).</summary>
    [Id(18)] public long MemoryUsedBytes { get; init; }

    /// <summary>Tokens (prompt and expected output) of the sequences running or queued on the node.</summary>
    [Id(19)] public long OutstandingTokens { get; init; }

    /// <summary>
    /// Mean sequences per decode step over the same window as <see cref="TokensPerSecond10s"/> (steps of all the node's
    /// engines together); 0 without a decode step in the window. The batch the rate was generated at.
    /// </summary>
    [Id(20)] public double BatchSize10s { get; init; }

    /// <summary>
    /// What each loaded model's prefix cache holds, by model: a bounded digest its dispatcher places jobs by (prefix-aware
    /// placement). Empty when the caches are off or digests are not reported. Left out of JSON views: it is for
    /// dispatchers, not for people.
    /// </summary>
    [Id(21), JsonIgnore] public IReadOnlyDictionary<string, PrefixDigest> PrefixDigests { get; init; } = new Dictionary<string, PrefixDigest>();

    /// <summary>
    /// The fingerprint of the files of each model the node can load, by model (<see cref="LoadableModels"/>): a job goes
    /// only to a node with its own model's fingerprint. Empty from a node of a release before it, which any job may use.
    /// </summary>
    [Id(22)] public IReadOnlyDictionary<string, string> ModelFingerprints { get; init; } = new Dictionary<string, string>();

    /// <summary>
    /// The models the node is configured to serve whose latest load failed, by model, with the reason: the node leaves
    /// them out of <see cref="LoadableModels"/> (and <see cref="ModelFingerprints"/>) until a load succeeds. Empty from a
    /// node of a release before it.
    /// </summary>
    [Id(23)] public IReadOnlyDictionary<string, string> FailedModels { get; init; } = new Dictionary<string, string>();
}

/// <summary>
/// What one engine's prefix cache holds, as its node advertises it: the 64-bit summaries of the most recently used
/// blocks' keys (most recent first, at most the node's <c>PrefixDigestBlocks</c>) and the block size they were cut at.
/// </summary>
/// <param name="BlockTokens">Prompt tokens per block; a job's summaries match only when cut at the same size.</param>
/// <param name="Blocks">The blocks' key summaries, most recently used first.</param>
[GenerateSerializer, Immutable, Alias("tg.PrefixDigest")]
public sealed record PrefixDigest([property: Id(0)] int BlockTokens, [property: Id(1)] ulong[] Blocks);

/// <summary>A sequence for a node to generate.</summary>
/// <param name="JobId">The job it belongs to.</param>
/// <param name="Model">The model.</param>
/// <param name="PromptTokens">The prompt; for a resumed run, the original prompt followed by the tokens produced before.</param>
/// <param name="MaxTokens">Most tokens to generate in this run.</param>
/// <param name="Sampling">Sampling.</param>
/// <param name="Stop">The request's stop sequences (<see cref="Jobs.JobSpec.Stop"/>).</param>
/// <param name="Output">How the sequence ends and what it reports; null is <see cref="JobOutputOptions.None"/>.</param>
/// <param name="ResumedOutputTokens">
/// How many of the last <paramref name="PromptTokens"/> an earlier run of this job produced: penalties, min tokens and the
/// seeded random stream continue from them.
/// </param>
/// <param name="ForkKey">
/// The choice group of a job with <c>n</c> &gt; 1 (<see cref="JobChoice.GroupId"/>): the engine copies the prompt's cache
/// from a live sibling with the same key and prompt rather than prefilling it again. Null: never shared.
/// </param>
/// <param name="OutputSchema">Structured outputs: the JSON schema (text) the output must be a value of; null for free text.</param>
/// <param name="OutputSchemaTrigger">The text from whose first appearance <paramref name="OutputSchema"/> holds; null: the whole output.</param>
/// <param name="OutputSchemaRepeats">With a trigger: each appearance of it holds the next value, and the output goes on after one (see <see cref="Jobs.JobSpec.OutputSchemaRepeats"/>).</param>
/// <param name="TemplateStop">
/// The chat template's stop sequences (<see cref="Jobs.JobSpec.TemplateStop"/>): they end the output but never show in it.
/// Null is none.
/// </param>
/// <param name="ModelFingerprint">
/// The fingerprint of the model files the job's prompt was tokenized with (<see cref="Jobs.JobSpec.ModelFingerprint"/>): a
/// node serving the model with other files refuses the sequence. Null: not checked.
/// </param>
/// <param name="PrefixCacheScope">
/// The prefix cache scope the prompt is matched and cached in (<see cref="Tenants.AdmissionResult.PrefixCacheScope"/>);
/// null: the run does not use the prefix cache.
/// </param>
[GenerateSerializer, Immutable, Alias("tg.GenerationSpec")]
public sealed record GenerationSpec(
    [property: Id(0)] string JobId,
    [property: Id(1)] string Model,
    [property: Id(2)] int[] PromptTokens,
    [property: Id(3)] int MaxTokens,
    [property: Id(4)] JobSampling Sampling,
    [property: Id(5)] string[] Stop,
    [property: Id(6)] JobOutputOptions? Output = null,
    [property: Id(7)] int ResumedOutputTokens = 0,
    [property: Id(8)] string? ForkKey = null,
    [property: Id(9)] string? OutputSchema = null,
    [property: Id(10)] string? OutputSchemaTrigger = null,
    [property: Id(11)] string? PrefixCacheScope = null,
    [property: Id(12)] bool OutputSchemaRepeats = false,
    [property: Id(13)] string[]? TemplateStop = null,
    [property: Id(14)] string? ModelFingerprint = null);

/// <summary>
/// A piece of a node's output: text and the number of tokens it carries; the last piece has
/// <see cref="Final"/> set with the exact usage and finish reason. <see cref="TokenIds"/> holds the ids of the tokens
/// (a job resumes from them after preemption); null on the final piece. <see cref="Logprobs"/> holds one entry per token
/// when the spec asked for log probabilities, else null. The first piece of a run carries
/// <see cref="CachedPromptTokens"/>, the prompt tokens the node took from its prefix cache (as the final piece reports
/// them), so a run stopped before its end (preempted, or its node lost) still tells them; null on the others.
/// </summary>
[GenerateSerializer, Immutable, Alias("tg.GenerationChunk")]
public sealed record GenerationChunk(
    [property: Id(0)] string Text,
    [property: Id(1)] int Tokens,
    [property: Id(2)] GenerationFinal? Final,
    [property: Id(3)] int[]? TokenIds = null,
    [property: Id(4)] TokenLogprob[]? Logprobs = null,
    [property: Id(5)] int? CachedPromptTokens = null);

/// <summary>How a generation ended.</summary>
/// <param name="FinishReason"><c>stop</c>, <c>length</c>, <c>cancelled</c> or <c>failed</c>.</param>
/// <param name="PromptTokens">Prompt tokens.</param>
/// <param name="CompletionTokens">Tokens generated, exactly.</param>
/// <param name="Error">What failed, or why the node refused (busy, invalid).</param>
/// <param name="Refused">True when the node never started it (busy or invalid): nothing was generated.</param>
/// <param name="CachedPromptTokens">
/// Of <paramref name="PromptTokens"/>, those the engine took from its prefix cache instead of prefilling them (OpenAI's
/// <c>usage.prompt_tokens_details.cached_tokens</c>); 0 from a node that predates the field.
/// </param>
[GenerateSerializer, Immutable, Alias("tg.GenerationFinal")]
public sealed record GenerationFinal(
    [property: Id(0)] string FinishReason,
    [property: Id(1)] int PromptTokens,
    [property: Id(2)] int CompletionTokens,
    [property: Id(3)] string? Error,
    [property: Id(4)] bool Refused,
    [property: Id(5)] int CachedPromptTokens = 0);
