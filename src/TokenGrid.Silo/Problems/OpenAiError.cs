namespace TokenGrid.Silo.Problems;

/// <summary>
/// OpenAI's error object, carried in every problem+json body as the <c>error</c> member so OpenAI SDKs show its
/// <see cref="Message"/>.
/// </summary>
/// <param name="Message">What went wrong, for a person.</param>
/// <param name="Type">OpenAI's error type: <c>invalid_request_error</c>, <c>authentication_error</c>, <c>tokens</c>...</param>
/// <param name="Code">A stable machine-readable code (<c>model_not_found</c>, <c>insufficient_quota</c>), or null.</param>
/// <param name="Param">The request field at fault, or null.</param>
public sealed record OpenAiError(string Message, string Type, string? Code, string? Param);

/// <summary>OpenAI's error types, by HTTP status when nothing more specific is known.</summary>
internal static class OpenAiErrorTypes
{
    public const string InvalidRequest = "invalid_request_error";
    public const string Authentication = "authentication_error";
    public const string PermissionDenied = "permission_error";
    public const string NotFound = "not_found_error";
    public const string RateLimit = "rate_limit_error";
    public const string InsufficientQuota = "insufficient_quota";
    public const string Server = "server_error";

    /// <summary>The type OpenAI uses for <paramref name="status"/>.</summary>
    public static string ForStatus(int status) => status switch
    {
        401 => Authentication,
        403 => PermissionDenied,
        404 => NotFound,
        429 => RateLimit,
        >= 500 => Server,
        _ => InvalidRequest,
    };
}
