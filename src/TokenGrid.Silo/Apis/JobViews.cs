using System.Text.Json;
using TokenGrid.Abstractions.Jobs;
using TokenGrid.Grains.Scheduling;
using TokenGrid.Grains.Tenants;
using TokenGrid.Silo.OpenAi;

namespace TokenGrid.Silo.Apis;

/// <summary>
/// The body of <c>POST /v1/jobs</c>: a prompt (text or token ids) or chat messages, and the same generation settings as
/// the OpenAI endpoints (<see cref="SamplingRequestBody"/>).
/// </summary>
public sealed record JobRequest : SamplingRequestBody
{
    /// <summary>A string or an array of token ids; give this or <see cref="Messages"/>.</summary>
    public JsonElement Prompt { get; init; }

    /// <summary>Chat messages, rendered with the model's chat template; give this or <see cref="Prompt"/>.</summary>
    public IReadOnlyList<ChatMessageRequest>? Messages { get; init; }

    /// <summary>Most tokens to generate; above what the context leaves after the prompt is a 400. Default: what fits.</summary>
    public int? MaxTokens { get; init; }

    /// <summary>Report each token's log probability in the job's <c>tokens</c> events.</summary>
    public bool? Logprobs { get; init; }

    /// <summary>With <see cref="Logprobs"/>: this many most likely alternatives per token (0 to 20).</summary>
    public int? TopLogprobs { get; init; }
}

/// <summary>
/// A job as the native API shows it. <see cref="ContentExpiresAt"/> says when its content (output included) is deleted;
/// after that, <see cref="ContentDeleted"/> says why and when, and the rest of the record stays. While it waits for a node, <see cref="QueuePosition"/> (1 = next) and
/// <see cref="ExpectedWaitSeconds"/> (from the model's measured drain rate; null before one is known) say where it stands.
/// </summary>
public sealed record JobView(
    string Id,
    JobStatus Status,
    string Model,
    string? NodeId,
    DateTimeOffset SubmittedAt,
    DateTimeOffset? AdmittedAt,
    DateTimeOffset? FirstTokenAt,
    DateTimeOffset? FinishedAt,
    Usage Usage,
    long? ChargedTokens,
    string? FinishReason,
    string? Output,
    string? Error,
    string? Rejection,
    int? QueuePosition = null,
    double? ExpectedWaitSeconds = null,
    int Preemptions = 0,
    string? User = null,
    DateTimeOffset? ContentExpiresAt = null,
    JobContentDeletionView? ContentDeleted = null)
{
    /// <summary>Always <c>job</c>.</summary>
    public string Object => "job";

    /// <summary>The view of <paramref name="job"/>.</summary>
    public static JobView Of(JobInfo job) => new(
        job.Id, job.Status, job.Model, job.NodeId, job.SubmittedAt, job.AdmittedAt, job.FirstTokenAt, job.FinishedAt,
        job.IsFinished ? Usage.Of(job.PromptTokens, job.CompletionTokens, job.CachedPromptTokens) : Usage.Of(job.PromptTokens, job.CompletionTokens), job.ChargedTokens, job.FinishReason, job.Output, job.Error,
        job.SchedulingRejection?.ToCode() ?? job.Admission?.Rejection?.ToCode(), job.QueuePosition, job.ExpectedWait?.TotalSeconds, job.Preemptions, job.User,
        job.ContentExpiresAt, job.ContentDeleted is { } deleted ? JobContentDeletionView.Of(deleted) : null);
}

/// <summary>Why and when a job's content was deleted: <c>expired</c> (its retention ended), <c>deleted_by_tenant</c> or <c>tenant_deleted</c>.</summary>
public sealed record JobContentDeletionView(JobContentDeletionReason Reason, DateTimeOffset At)
{
    /// <summary>The view of <paramref name="deletion"/>.</summary>
    public static JobContentDeletionView Of(JobContentDeletion deletion) => new(deletion.Reason, deletion.At);
}

/// <summary>A page of a list, newest first; pass <see cref="LastId"/> as <c>before</c> for the next page.</summary>
public sealed record ListPage<T>(IReadOnlyList<T> Data, bool HasMore, string? LastId)
{
    /// <summary>Always <c>list</c>.</summary>
    public string Object => "list";
}

/// <summary>
/// One event of <c>GET /v1/jobs/{id}/events</c>: generated text or a status change with the job. A job that asked for
/// log probabilities has them on its text events, one per token, in chat's shape.
/// </summary>
public sealed record JobEventView(long Sequence, JobEventKind Kind, string? Text, int Tokens, JobView? Job)
{
    /// <summary>The tokens' log probabilities, or null.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<ChatTokenLogprob>? Logprobs { get; init; }

    /// <summary>The view of <paramref name="jobEvent"/>; <paramref name="logprobs"/> shows its log probabilities.</summary>
    internal static JobEventView Of(JobEvent jobEvent, LogprobFormat? logprobs = null) => new(
        jobEvent.Sequence, jobEvent.Kind, jobEvent.Text, jobEvent.Tokens, jobEvent.Job is { } job ? JobView.Of(job) : null)
    {
        Logprobs = logprobs is not null && jobEvent.Logprobs is { } reported ? logprobs.Chat(reported).Content : null,
    };
}
