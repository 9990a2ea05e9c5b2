using TokenGrid.Abstractions.Scheduling;
using TokenGrid.Abstractions.Tenants;

namespace TokenGrid.Abstractions.Jobs;

/// <summary>A job's place in its lifecycle: Queued → Running → Succeeded | Failed | Cancelled, or Rejected at admission.</summary>
public enum JobStatus
{
    /// <summary>Admitted, waiting for a node.</summary>
    Queued,

    /// <summary>Generating on a node.</summary>
    Running,

    /// <summary>Finished: stop sequence, end of sequence or max tokens.</summary>
    Succeeded,

    /// <summary>The node or model failed, or the job timed out.</summary>
    Failed,

    /// <summary>Cancelled by the tenant or by a client disconnect.</summary>
    Cancelled,

    /// <summary>Not admitted by the tenant's budget, or refused by the scheduler (queue full, no eligible node).</summary>
    Rejected,
}

/// <summary>Sampling settings of a job (the engine's <c>SamplingOptions</c>, field for field).</summary>
/// <param name="Temperature">Softmax temperature; below 1e-5 (0 included) is greedy.</param>
/// <param name="TopP">Nucleus sampling mass; 1 is off.</param>
/// <param name="TopK">Keep the K most likely tokens; 0 is off.</param>
/// <param name="Seed">Seed for reproducible sampling; null draws one.</param>
/// <param name="MinP">vLLM's <c>min_p</c>; 0 is off.</param>
/// <param name="PresencePenalty">OpenAI's <c>presence_penalty</c>, −2 to 2; 0 is off.</param>
/// <param name="FrequencyPenalty">OpenAI's <c>frequency_penalty</c>, −2 to 2; 0 is off.</param>
/// <param name="RepetitionPenalty">vLLM's <c>repetition_penalty</c>, above 0; 1 is off.</param>
/// <param name="LogitBias">OpenAI's <c>logit_bias</c>: token id to a bias of −100 to 100; null is none.</param>
[GenerateSerializer, Immutable, Alias("tg.JobSampling")]
public sealed record JobSampling(
    [property: Id(0)] float Temperature = 1f,
    [property: Id(1)] float TopP = 1f,
    [property: Id(2)] int TopK = 0,
    [property: Id(3)] ulong? Seed = null,
    [property: Id(4)] float MinP = 0f,
    [property: Id(5)] float PresencePenalty = 0f,
    [property: Id(6)] float FrequencyPenalty = 0f,
    [property: Id(7)] float RepetitionPenalty = 1f,
    [property: Id(8)] IReadOnlyDictionary<int, float>? LogitBias = null);

/// <summary>
/// How a job's sequence ends and what it reports besides text (the engine's <c>GenerationRequest</c> fields of the same
/// names). The defaults change nothing.
/// </summary>
/// <param name="MinTokens">
/// vLLM's <c>min_tokens</c>: no end of sequence or stop token id before this many tokens, and no stop sequence ending
/// within their text.
/// </param>
/// <param name="StopTokenIds">
/// vLLM's <c>stop_token_ids</c>: ids that end the sequence like end of sequence, their text left out unless
/// <paramref name="IncludeStopSequence"/>; null is none.
/// </param>
/// <param name="TopLogprobs">Null: no log probabilities; else the sampled token's plus this many alternatives (0 to 20).</param>
/// <param name="IncludeStopSequence">
/// vLLM's <c>include_stop_str_in_output</c>: a matched stop sequence of <see cref="JobSpec.Stop"/> (never of
/// <see cref="JobSpec.TemplateStop"/>) and the text of a stop token id stay in the text.
/// </param>
/// <param name="IgnoreEndOfSequence">vLLM's <c>ignore_eos</c>: generate past the end-of-sequence token (which still has no text).</param>
/// <param name="SkipSpecialTokens">vLLM's <c>skip_special_tokens</c>: special tokens are left out of the text.</param>
[GenerateSerializer, Immutable, Alias("tg.JobOutputOptions")]
public sealed record JobOutputOptions(
    [property: Id(0)] int MinTokens = 0,
    [property: Id(1)] int[]? StopTokenIds = null,
    [property: Id(2)] int? TopLogprobs = null,
    [property: Id(3)] bool IncludeStopSequence = false,
    [property: Id(4)] bool IgnoreEndOfSequence = false,
    [property: Id(5)] bool SkipSpecialTokens = false)
{
    /// <summary>Nothing asked for.</summary>
    public static JobOutputOptions None { get; } = new();
}

/// <summary>One alternative token with its log probability.</summary>
/// <param name="TokenId">The token.</param>
/// <param name="Logprob">Its log probability in the model's raw distribution.</param>
[GenerateSerializer, Immutable, Alias("tg.TokenAlternative")]
public sealed record TokenAlternative([property: Id(0)] int TokenId, [property: Id(1)] float Logprob);

/// <summary>The log probabilities of one generated token, as the engine reports them (raw distribution, before penalties).</summary>
/// <param name="TokenId">The sampled token.</param>
/// <param name="Logprob">Its log probability.</param>
/// <param name="Top">The most likely tokens, most likely first, as many as asked.</param>
[GenerateSerializer, Immutable, Alias("tg.TokenLogprob")]
public sealed record TokenLogprob([property: Id(0)] int TokenId, [property: Id(1)] float Logprob, [property: Id(2)] TokenAlternative[] Top);

/// <summary>What a tenant asks for. Prompt tokens are counted at the edge with the model's tokenizer.</summary>
[GenerateSerializer, Immutable, Alias("tg.JobSpec")]
public sealed record JobSpec
{
    /// <summary>The owning tenant.</summary>
    [Id(0)] public required string TenantId { get; init; }

    /// <summary>Model name.</summary>
    [Id(1)] public required string Model { get; init; }

    /// <summary>Prompt as token ids of the model.</summary>
    [Id(2)] public required int[] PromptTokens { get; init; }

    /// <summary>Most tokens to generate, already capped by the model's context.</summary>
    [Id(3)] public required int MaxTokens { get; init; }

    /// <summary>Sampling.</summary>
    [Id(4)] public JobSampling Sampling { get; init; } = new();

    /// <summary>
    /// Stop sequences the request gave (OpenAI's <c>stop</c>). A spec that predates <see cref="TemplateStop"/> holds the
    /// chat template's here too.
    /// </summary>
    [Id(5)] public string[] Stop { get; init; } = [];

    /// <summary>Keep the output text in the job (async jobs) rather than only streaming it.</summary>
    [Id(6)] public bool KeepOutput { get; init; } = true;

    /// <summary>The job fails (outcome TimedOut) if it has not ended this long after submission. Null: no limit.</summary>
    [Id(7)] public TimeSpan? Timeout { get; init; }

    /// <summary>How the sequence ends and whether log probabilities are reported. Default: none (<see cref="JobOutputOptions.None"/>).</summary>
    // A fresh instance, never the shared None: Orleans' deserializer fills a field's existing instance of a sealed
    // generated type, so a spec read back from storage would otherwise rewrite None for every later job of the process.
    [Id(8)] public JobOutputOptions Output { get; init; } = new();

    /// <summary>OpenAI's <c>user</c>: the tenant's own id for its end user, recorded on the job. Null: none given.</summary>
    [Id(9)] public string? User { get; init; }

    /// <summary>
    /// The priority class the request asked for, at most the tenant's (the API refuses a higher one); null: the tenant's.
    /// The job is scheduled at the lower of the two.
    /// </summary>
    [Id(10)] public PriorityClass? Priority { get; init; }

    /// <summary>
    /// Set when the job is one choice of a request with OpenAI's <c>n</c> &gt; 1 (one job per choice, admitted together
    /// by the tenant; with several prompts, each prompt's choices are a group of their own). Null: a request of its own, or
    /// the one choice of a prompt among several (admitted with them, charging its own prompt).
    /// </summary>
    [Id(11)] public JobChoice? Choice { get; init; }

    /// <summary>
    /// Structured outputs: a JSON schema (as JSON text) the output must be a value of; the node constrains decoding to
    /// it. Null: free text.
    /// </summary>
    [Id(12)] public string? OutputSchema { get; init; }

    /// <summary>
    /// With <see cref="OutputSchema"/>: the schema holds only from the first time this text appears in the output (the
    /// opening of a tool call when the model may call a tool or answer). Null: the whole output.
    /// </summary>
    [Id(13)] public string? OutputSchemaTrigger { get; init; }

    /// <summary>
    /// With <see cref="OutputSchemaTrigger"/>: a value that completes frees the output again, and each later appearance of
    /// the trigger holds the next value to the schema (parallel tool calls). False: the output ends with the first value.
    /// </summary>
    [Id(14)] public bool OutputSchemaRepeats { get; init; }

    /// <summary>
    /// The chat template's own stop sequences (its turn delimiters): they end the output like <see cref="Stop"/>, but never
    /// show in it, whatever <see cref="JobOutputOptions.IncludeStopSequence"/> says. Empty for a prompt without a template.
    /// </summary>
    [Id(15)] public string[] TemplateStop { get; init; } = [];

    /// <summary>
    /// The fingerprint of the model files that tokenized the prompt (the catalog's <c>CatalogModel.Fingerprint</c> on the
    /// silo that took the request): every run of the job goes to a node serving the model with these files, so a sequence
    /// never goes on under other weights or another tokenizer. Null (a spec from a release before it): any node.
    /// </summary>
    [Id(16)] public string? ModelFingerprint { get; init; }
}

/// <summary>
/// One choice of a request for <c>n</c> &gt; 1 choices. The choices were admitted as a group in one decision of the tenant
/// (<see cref="Tenants.ITenantGrain.AdmitGroupAsync"/>); only choice 0 reserves and is charged the prompt, the others their
/// completion only, so the group is billed as OpenAI reports it: the prompt once, every choice's completion. Their nodes
/// copy the prompt's cache from a sibling instead of prefilling it again where one runs beside them (the group id is
/// the fork key).
/// </summary>
/// <param name="GroupId">The id of choice 0's job, shared by the group.</param>
/// <param name="Index">This choice's index, from 0.</param>
/// <param name="Count">The choices in the group (<c>n</c>).</param>
[GenerateSerializer, Immutable, Alias("tg.JobChoice")]
public sealed record JobChoice([property: Id(0)] string GroupId, [property: Id(1)] int Index, [property: Id(2)] int Count)
{
    /// <summary>Whether this choice reserves and is charged the prompt's tokens (choice 0 only).</summary>
    public bool ChargesPrompt => Index == 0;

    /// <summary>
    /// Choice 0's siblings, the other choices' job ids (empty for them): when choice 0 ends before a node took its prompt
    /// (its client left while it waited), it still charges the prompt if a sibling ran on it. Null in a job saved before
    /// choices knew their siblings.
    /// </summary>
    [Id(3)] public IReadOnlyList<string>? Siblings { get; init; }
}

/// <summary>A job as the API shows it.</summary>
[GenerateSerializer, Immutable, Alias("tg.JobInfo")]
public sealed record JobInfo
{
    /// <summary>Job id.</summary>
    [Id(0)] public required string Id { get; init; }

    /// <summary>Owning tenant.</summary>
    [Id(1)] public required string TenantId { get; init; }

    /// <summary>Model name.</summary>
    [Id(2)] public required string Model { get; init; }

    /// <summary>Lifecycle status.</summary>
    [Id(3)] public JobStatus Status { get; init; }

    /// <summary>Node that ran it.</summary>
    [Id(4)] public string? NodeId { get; init; }

    /// <summary>When it was submitted.</summary>
    [Id(5)] public DateTimeOffset SubmittedAt { get; init; }

    /// <summary>When the tenant admitted it.</summary>
    [Id(6)] public DateTimeOffset? AdmittedAt { get; init; }

    /// <summary>When the first token arrived.</summary>
    [Id(7)] public DateTimeOffset? FirstTokenAt { get; init; }

    /// <summary>When it ended.</summary>
    [Id(8)] public DateTimeOffset? FinishedAt { get; init; }

    /// <summary>Prompt tokens.</summary>
    [Id(9)] public int PromptTokens { get; init; }

    /// <summary>Tokens generated.</summary>
    [Id(10)] public int CompletionTokens { get; init; }

    /// <summary>OpenAI finish reason: <c>stop</c> or <c>length</c>; null while running or when it did not finish normally.</summary>
    [Id(11)] public string? FinishReason { get; init; }

    /// <summary>Output text (when kept).</summary>
    [Id(12)] public string? Output { get; init; }

    /// <summary>What went wrong, for failed, cancelled and rejected jobs.</summary>
    [Id(13)] public string? Error { get; init; }

    /// <summary>The admission answer (limits for headers, rejection reason).</summary>
    [Id(14)] public AdmissionResult? Admission { get; init; }

    /// <summary>Tokens charged at settlement.</summary>
    [Id(15)] public long? ChargedTokens { get; init; }

    /// <summary>Place in its model's queue while queued (1 = next); null otherwise.</summary>
    [Id(16)] public int? QueuePosition { get; init; }

    /// <summary>Expected wait for a node while queued, from the measured drain rate; null otherwise or when unknown.</summary>
    [Id(17)] public TimeSpan? ExpectedWait { get; init; }

    /// <summary>Why the scheduler refused the job (status <see cref="JobStatus.Rejected"/> after admission).</summary>
    [Id(18)] public SchedulingRejection? SchedulingRejection { get; init; }

    /// <summary>When to retry a job the scheduler refused, from the measured drain rate.</summary>
    [Id(19)] public TimeSpan? RetryAfter { get; init; }

    /// <summary>Times the job was preempted and resumed by recomputation.</summary>
    [Id(20)] public int Preemptions { get; init; }

    /// <summary>OpenAI's <c>user</c> the request gave, or null.</summary>
    [Id(21)] public string? User { get; init; }

    /// <summary>
    /// When the job's content (prompt, output, token ids, log probabilities, <see cref="User"/>) is deleted under the
    /// retention settings; set when it ends. Null while it runs.
    /// </summary>
    [Id(22)] public DateTimeOffset? ContentExpiresAt { get; init; }

    /// <summary>Why and when the content was deleted; null while it is kept. The rest of the record stays.</summary>
    [Id(23)] public JobContentDeletion? ContentDeleted { get; init; }

    /// <summary>The <c>region</c> label of <see cref="NodeId"/> (where the job's tokens were created); null when it has none.</summary>
    [Id(24)] public string? NodeRegion { get; init; }

    /// <summary>
    /// Of <see cref="PromptTokens"/>, those taken from a node's prefix cache instead of prefilled (OpenAI's
    /// <c>usage.prompt_tokens_details.cached_tokens</c>), as the run that computed the prompt reported them: the first run
    /// whose node took the prompt. A run resumed after a preemption or failover recomputes the prompt and the output so
    /// far as the grid's own cost, so its cache hits (often on the first run's blocks) are not the tenant's; when the first
    /// run never reported its usage (its node died), this stays 0. 0 while it runs.
    /// </summary>
    [Id(25)] public int CachedPromptTokens { get; init; }

    /// <summary>
    /// The job failed because it ran out of time (its <see cref="JobSpec.Timeout"/>): sending it again would run into the
    /// same limit, so the API does not invite a retry.
    /// </summary>
    [Id(26)] public bool TimedOut { get; init; }

    /// <summary>
    /// The job failed before it was accepted on an error of the server that sending it again does not fix (the database
    /// refused the statement: a violated constraint, a missing table or column, a privilege its role lacks), so the API
    /// answers 500 and does not invite a retry.
    /// </summary>
    [Id(27)] public bool Faulted { get; init; }

    /// <summary>True once the job has ended.</summary>
    public bool IsFinished => Status is JobStatus.Succeeded or JobStatus.Failed or JobStatus.Cancelled or JobStatus.Rejected;
}

/// <summary>What happened in a job, in order: status changes and text.</summary>
public enum JobEventKind
{
    /// <summary>The status changed; <see cref="JobEvent.Job"/> holds the job.</summary>
    Status,

    /// <summary>Generated text; <see cref="JobEvent.Text"/> and <see cref="JobEvent.Tokens"/>.</summary>
    Tokens,
}

/// <summary>
/// One event of a job's stream. <see cref="Sequence"/> increases strictly within a job and stays valid across the job
/// grain's reactivation on another silo: it is <see cref="JobEventSequence.Of"/> the characters of text streamed up to and
/// including the event, and an ordinal among events at that length. A watcher resuming after a sequence receives exactly
/// the text that follows it; an event that starts before that point arrives cut to the rest (its <see cref="Tokens"/> then 0).
/// <see cref="Logprobs"/> holds one entry per token of the event when the job asked for log probabilities; an event cut
/// for a resuming watcher carries none (its tokens are no longer whole).
/// </summary>
[GenerateSerializer, Immutable, Alias("tg.JobEvent")]
public sealed record JobEvent(
    [property: Id(0)] long Sequence,
    [property: Id(1)] JobEventKind Kind,
    [property: Id(2)] string? Text,
    [property: Id(3)] int Tokens,
    [property: Id(4)] JobInfo? Job,
    [property: Id(5)] TokenLogprob[]? Logprobs = null);

/// <summary>
/// Job event sequences: the characters of text streamed so far (high bits) and an ordinal among the events at that length
/// (low 16 bits), so that a resumed watcher's position is a position in the text, whichever activation produced it.
/// </summary>
public static class JobEventSequence
{
    private const int OrdinalBits = 16;

    /// <summary>The sequence of the event that ends at <paramref name="chars"/> characters, with <paramref name="ordinal"/> events before it at that length.</summary>
    public static long Of(long chars, int ordinal) => (chars << OrdinalBits) | (uint)Math.Clamp(ordinal, 0, (1 << OrdinalBits) - 1);

    /// <summary>The characters of text streamed up to and including the event with <paramref name="sequence"/>.</summary>
    public static long CharsOf(long sequence) => Math.Max(0, sequence) >> OrdinalBits;

    /// <summary>The sequence after <paramref name="last"/> for an event that ends at <paramref name="chars"/> characters.</summary>
    public static long Next(long last, long chars) => chars > CharsOf(last) ? Of(chars, 0) : last + 1;
}

/// <summary>Why a job's content was deleted.</summary>
public enum JobContentDeletionReason
{
    /// <summary>Its retention period ended.</summary>
    Expired,

    /// <summary>The tenant deleted it (<c>DELETE /v1/jobs/{id}</c>).</summary>
    DeletedByTenant,

    /// <summary>The tenant was deleted (<c>DELETE /admin/tenants/{id}</c>).</summary>
    TenantDeleted,
}

/// <summary>A job's content was deleted: <paramref name="Reason"/>, at <paramref name="At"/>.</summary>
/// <param name="Reason">Why.</param>
/// <param name="At">When it stopped being available (for an expiry, the end of the retention period).</param>
[GenerateSerializer, Immutable, Alias("tg.JobContentDeletion")]
public sealed record JobContentDeletion([property: Id(0)] JobContentDeletionReason Reason, [property: Id(1)] DateTimeOffset At);
