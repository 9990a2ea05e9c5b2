namespace TokenGrid.Silo.Options;

/// <summary>Limits and defaults of the HTTP API (section <see cref="SectionName"/>).</summary>
public sealed class ApiOptions : IValidatedOptions
{
    /// <summary>Configuration section.</summary>
    public static string SectionName => "TokenGrid:Api";

    /// <summary>Largest request body accepted; larger ones get 413. Default: 1048576 (1 MiB).</summary>
    public long MaxRequestBodyBytes { get; set; } = 1024 * 1024;

    /// <summary>
    /// <c>max_tokens</c> of a request that sets none. Every request's <c>max_tokens</c> is then capped at the model's
    /// context minus the prompt. Default: 4096.
    /// </summary>
    public int DefaultMaxTokens { get; set; } = 4096;

    /// <summary>A job that has not ended this long after submission fails as timed out. Default: 10 minutes.</summary>
    public TimeSpan JobTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Page size of list endpoints (<c>/v1/jobs</c>, ledger) when the request sets no <c>limit</c>. Default: 20.</summary>
    public int DefaultPageSize { get; set; } = 20;

    /// <summary>Largest page a list endpoint returns. Default: 100.</summary>
    public int MaxPageSize { get; set; } = 100;

    /// <inheritdoc />
    public string? Validate() =>
        MaxRequestBodyBytes < 1024 ? "max request body bytes must be at least 1024."
        : DefaultMaxTokens < 1 ? "default max tokens must be at least 1."
        : JobTimeout <= TimeSpan.Zero ? "the job timeout must be positive."
        : MaxPageSize is < 1 or > 999 ? "max page size must be between 1 and 999."
        : DefaultPageSize < 1 || DefaultPageSize > MaxPageSize ? "default page size must be between 1 and max page size."
        : null;
}
