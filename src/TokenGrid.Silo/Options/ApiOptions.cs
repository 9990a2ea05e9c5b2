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

    /// <summary>
    /// How long a completion stream (<c>"stream": true</c>) may wait for its first text before it sends its status line
    /// and headers. A request that fails within this window gets a plain problem reply with its own status; one whose
    /// job is still queued or has produced nothing by then gets <c>200</c>, keep-alive comments (see
    /// <see cref="StreamKeepAliveInterval"/>) and, should it fail later, the error as an event in the stream. <c>0</c>
    /// sends the headers at once. Default: 5 seconds.
    /// </summary>
    public TimeSpan StreamOpenAfter { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How often an event stream that has nothing to send writes an SSE comment (<c>: keep-alive</c>), so clients' read
    /// timeouts and proxies that cut idle connections (nginx, load balancers: often 60 s) do not end it: a completion
    /// stream from <see cref="StreamOpenAfter"/> until its first text, a job watch between events. Default: 15 seconds.
    /// </summary>
    public TimeSpan StreamKeepAliveInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// How long a completion stream's write may wait for a client that does not read (its socket buffers full) before
    /// the connection is aborted, as if the client had left: a running job is then cancelled and charged for what it
    /// produced. Without a limit such a stream would hold its connection and its job for as long as the client stayed
    /// silent, and read on only to find the output it missed gone once the job's grain was collected. Keep it below
    /// twice Orleans' response timeout (30 s by default), after which an unread job stream is dropped. Default: 30 seconds.
    /// </summary>
    public TimeSpan StreamWriteTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Page size of list endpoints (<c>/v1/jobs</c>, ledger, <c>/admin/tenants</c>) when the request sets no <c>limit</c>. Default: 20.</summary>
    public int DefaultPageSize { get; set; } = 20;

    /// <summary>Largest page a list endpoint returns. Default: 100.</summary>
    public int MaxPageSize { get; set; } = 100;

    /// <summary>
    /// Most tenant key hashes that failed (a wrong or revoked key) each silo remembers, so the same wrong key sent again
    /// is refused without a grain call or a database read. About 400 bytes each; <c>0</c> turns the cache off.
    /// Default: 10000.
    /// </summary>
    public int FailedKeyCacheSize { get; set; } = 10_000;

    /// <summary>
    /// How long a failed tenant key hash is remembered. A valid key is never remembered, so revoking one takes effect at
    /// once; a key that did not exist yet when it failed (the configured demo key, tried before the demo tenant was
    /// created) is refused up to this long afterwards. Default: 30 seconds.
    /// </summary>
    public TimeSpan FailedKeyCacheLifetime { get; set; } = TimeSpan.FromSeconds(30);

    /// <inheritdoc />
    public string? Validate() =>
        MaxRequestBodyBytes < 1024 ? "max request body bytes must be at least 1024."
        : DefaultMaxTokens < 1 ? "default max tokens must be at least 1."
        : JobTimeout <= TimeSpan.Zero ? "the job timeout must be positive."
        : StreamOpenAfter < TimeSpan.Zero ? "the stream open delay must not be negative."
        : StreamKeepAliveInterval <= TimeSpan.Zero ? "the stream keep-alive interval must be positive."
        : StreamWriteTimeout <= TimeSpan.Zero ? "the stream write timeout must be positive."
        : FailedKeyCacheSize is < 0 or > 1_000_000 ? "FailedKeyCacheSize must be from 0 to 1000000."
        : FailedKeyCacheLifetime <= TimeSpan.Zero || FailedKeyCacheLifetime > TimeSpan.FromHours(1) ? "FailedKeyCacheLifetime must be positive and at most an hour."
        : MaxPageSize is < 1 or > 999 ? "max page size must be between 1 and 999."
        : DefaultPageSize < 1 || DefaultPageSize > MaxPageSize ? "default page size must be between 1 and max page size."
        : null;
}
