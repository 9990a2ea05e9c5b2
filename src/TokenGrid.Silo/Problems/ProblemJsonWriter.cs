namespace TokenGrid.Silo.Problems;

/// <summary>
/// Writes every problem as <c>application/problem+json</c>, whatever the request's <c>Accept</c> says. ASP.NET Core's own
/// writer declines when <c>Accept</c> names no JSON type (<c>text/event-stream</c>, as SSE clients send, or
/// <c>text/html</c>): the exception handler then rethrows (a 404 becomes a 500, logged at Error with its message) and
/// status code pages fall back to text. An OpenAI client parses the JSON <c>error</c> of any failure, so the body is
/// JSON regardless, never a 406. The framework's writer still does the writing (its defaults, trace id and our
/// <see cref="ProblemDetailsOptions.CustomizeProblemDetails"/>); this only lifts its <c>Accept</c> check.
/// </summary>
internal sealed class ProblemJsonWriter(IProblemDetailsWriter framework) : IProblemDetailsWriter
{
    public bool CanWrite(ProblemDetailsContext context) => true;

    public ValueTask WriteAsync(ProblemDetailsContext context) => framework.WriteAsync(context);

    /// <summary>Puts this writer in place of the framework's, which <c>AddProblemDetails</c> registered.</summary>
    public static void Replace(IServiceCollection services)
    {
        var registered = services.Single(d => d.ServiceType == typeof(IProblemDetailsWriter));
        var frameworkType = registered.ImplementationType
            ?? throw new InvalidOperationException("The problem details writer is expected to be registered by type.");
        services.Remove(registered);
        services.AddSingleton<IProblemDetailsWriter>(provider =>
            new ProblemJsonWriter((IProblemDetailsWriter)ActivatorUtilities.CreateInstance(provider, frameworkType)));
    }
}
