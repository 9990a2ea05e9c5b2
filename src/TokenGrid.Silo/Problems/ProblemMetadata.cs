namespace TokenGrid.Silo.Problems;

/// <summary>OpenAPI metadata of the problems an endpoint can answer with.</summary>
internal static class ProblemMetadata
{
    /// <summary>Declares the 4xx problems of the tenant-facing generation endpoints.</summary>
    public static RouteHandlerBuilder ProducesOpenAiProblems(this RouteHandlerBuilder builder) => builder
        .ProducesProblem(StatusCodes.Status400BadRequest)
        .ProducesProblem(StatusCodes.Status401Unauthorized)
        .ProducesProblem(StatusCodes.Status403Forbidden)
        .ProducesProblem(StatusCodes.Status404NotFound)
        .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
        .ProducesProblem(StatusCodes.Status429TooManyRequests)
        .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
}
