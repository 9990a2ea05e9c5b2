using System.Diagnostics;

namespace TokenGrid.Grains.Telemetry;

/// <summary>
/// TokenGrid's spans, from the <see cref="ActivitySource"/> <see cref="SourceName"/>. With Orleans' activity
/// propagation on, one trace runs from the HTTP request through the job's admission, the job and its run on a node,
/// whose span carries the first and last token as events. Nothing is created while no listener samples the source.
/// </summary>
public static class TokenGridTracing
{
    /// <summary>The activity source to export.</summary>
    public const string SourceName = "TokenGrid";

    /// <summary>The job's whole life, from submission to settlement.</summary>
    public const string JobSpan = "tokengrid.job";

    /// <summary>The tenant grain's admission decision, seen from the job.</summary>
    public const string AdmissionSpan = "tokengrid.admission";

    /// <summary>One run of the job on a node, seen from the node.</summary>
    public const string GenerationSpan = "tokengrid.node.generate";

    /// <summary>Event on <see cref="GenerationSpan"/>: the first token left the node.</summary>
    public const string FirstTokenEvent = "first_token";

    /// <summary>Event on <see cref="GenerationSpan"/>: the last token left the node.</summary>
    public const string LastTokenEvent = "last_token";

    private static readonly ActivitySource s_source = new(SourceName);

    /// <summary>Starts the job's span (null when nobody listens).</summary>
    public static Activity? StartJob(string jobId, string tenant, string model, int promptTokens) =>
        s_source.StartActivity(JobSpan, ActivityKind.Internal)?
            .SetTag("tokengrid.job.id", jobId)
            .SetTag("tokengrid.tenant.id", tenant)
            .SetTag("gen_ai.request.model", model)
            .SetTag("gen_ai.usage.input_tokens", promptTokens);

    /// <summary>Ends the job's span with its status and usage.</summary>
    public static void EndJob(Activity? job, string outcome, string reason, int completionTokens, string? error)
    {
        if (job is null)
        {
            return;
        }

        job.SetTag("tokengrid.outcome", outcome).SetTag("tokengrid.reason", reason).SetTag("gen_ai.usage.output_tokens", completionTokens);
        if (outcome is "failed")
        {
            job.SetStatus(ActivityStatusCode.Error, error);
        }

        job.Stop();
    }

    /// <summary>Starts the admission span (null when nobody listens).</summary>
    public static Activity? StartAdmission(string tenant, string model, long reservation) =>
        s_source.StartActivity(AdmissionSpan, ActivityKind.Client)?
            .SetTag("tokengrid.tenant.id", tenant)
            .SetTag("gen_ai.request.model", model)
            .SetTag("tokengrid.reservation_tokens", reservation);

    /// <summary>Starts a node's generation span (null when nobody listens).</summary>
    public static Activity? StartGeneration(string jobId, string model, string node, int promptTokens) =>
        s_source.StartActivity(GenerationSpan, ActivityKind.Server)?
            .SetTag("tokengrid.job.id", jobId)
            .SetTag("gen_ai.request.model", model)
            .SetTag("tokengrid.node.id", node)
            .SetTag("gen_ai.usage.input_tokens", promptTokens);

    /// <summary>Marks the first token on a generation span.</summary>
    public static void OnFirstToken(Activity? generation) => generation?.AddEvent(new ActivityEvent(FirstTokenEvent));

    /// <summary>Marks the last token and the usage on a generation span.</summary>
    public static void OnLastToken(Activity? generation, string finishReason, int completionTokens) =>
        generation?.AddEvent(new ActivityEvent(LastTokenEvent))
            .SetTag("gen_ai.response.finish_reasons", finishReason)
            .SetTag("gen_ai.usage.output_tokens", completionTokens);
}
