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

/// <summary>Sampling settings of a job.</summary>
[GenerateSerializer, Immutable, Alias("tg.JobSampling")]
public sealed record JobSampling(
    [property: Id(0)] float Temperature = 1f,
    [property: Id(1)] float TopP = 1f,
    [property: Id(2)] int TopK = 0,
    [property: Id(3)] ulong? Seed = null);

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

    /// <summary>Stop sequences.</summary>
    [Id(5)] public string[] Stop { get; init; } = [];

    /// <summary>Keep the output text in the job (async jobs) rather than only streaming it.</summary>
    [Id(6)] public bool KeepOutput { get; init; } = true;

    /// <summary>The job fails (outcome TimedOut) if it has not ended this long after submission. Null: no limit.</summary>
    [Id(7)] public TimeSpan? Timeout { get; init; }
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
/// </summary>
[GenerateSerializer, Immutable, Alias("tg.JobEvent")]
public sealed record JobEvent(
    [property: Id(0)] long Sequence,
    [property: Id(1)] JobEventKind Kind,
    [property: Id(2)] string? Text,
    [property: Id(3)] int Tokens,
    [property: Id(4)] JobInfo? Job);

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
