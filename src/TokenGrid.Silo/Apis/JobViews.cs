using System.Text.Json;
using TokenGrid.Abstractions.Jobs;
using TokenGrid.Grains.Scheduling;
using TokenGrid.Grains.Tenants;
using TokenGrid.Silo.OpenAi;

namespace TokenGrid.Silo.Apis;

/// <summary>The body of <c>POST /v1/jobs</c>: a prompt (text or token ids) or chat messages, and generation settings.</summary>
public sealed record JobRequest
{
    /// <summary>Model name.</summary>
    public string? Model { get; init; }

    /// <summary>A string or an array of token ids; give this or <see cref="Messages"/>.</summary>
    public JsonElement Prompt { get; init; }

    /// <summary>Chat messages, rendered with the model's chat template; give this or <see cref="Prompt"/>.</summary>
    public IReadOnlyList<ChatMessageRequest>? Messages { get; init; }

    /// <summary>Most tokens to generate; capped at the model's context minus the prompt.</summary>
    public int? MaxTokens { get; init; }

    /// <summary>Sampling temperature, 0 to 2. Default: 1.</summary>
    public float? Temperature { get; init; }

    /// <summary>Nucleus sampling mass. Default: 1.</summary>
    public float? TopP { get; init; }

    /// <summary>Sample among the K likeliest tokens; 0 means all. Default: 0.</summary>
    public int? TopK { get; init; }

    /// <summary>Seed for reproducible sampling.</summary>
    public long? Seed { get; init; }

    /// <summary>A string or an array of up to 4 strings.</summary>
    public JsonElement Stop { get; init; }
}

/// <summary>
/// A job as the native API shows it. While it waits for a node, <see cref="QueuePosition"/> (1 = next) and
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
    int Preemptions = 0)
{
    /// <summary>Always <c>job</c>.</summary>
    public string Object => "job";

    /// <summary>The view of <paramref name="job"/>.</summary>
    public static JobView Of(JobInfo job) => new(
        job.Id, job.Status, job.Model, job.NodeId, job.SubmittedAt, job.AdmittedAt, job.FirstTokenAt, job.FinishedAt,
        Usage.Of(job.PromptTokens, job.CompletionTokens), job.ChargedTokens, job.FinishReason, job.Output, job.Error,
        job.SchedulingRejection?.ToCode() ?? job.Admission?.Rejection?.ToCode(), job.QueuePosition, job.ExpectedWait?.TotalSeconds, job.Preemptions);
}

/// <summary>A page of a list, newest first; pass <see cref="LastId"/> as <c>before</c> for the next page.</summary>
public sealed record ListPage<T>(IReadOnlyList<T> Data, bool HasMore, string? LastId)
{
    /// <summary>Always <c>list</c>.</summary>
    public string Object => "list";
}

/// <summary>One event of <c>GET /v1/jobs/{id}/events</c>: generated text or a status change with the job.</summary>
public sealed record JobEventView(long Sequence, JobEventKind Kind, string? Text, int Tokens, JobView? Job)
{
    /// <summary>The view of <paramref name="jobEvent"/>.</summary>
    public static JobEventView Of(JobEvent jobEvent) => new(
        jobEvent.Sequence, jobEvent.Kind, jobEvent.Text, jobEvent.Tokens, jobEvent.Job is { } job ? JobView.Of(job) : null);
}
