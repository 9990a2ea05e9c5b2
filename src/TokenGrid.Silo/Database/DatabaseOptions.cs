using TokenGrid.Silo.Options;

namespace TokenGrid.Silo.Database;

/// <summary>
/// The PostgreSQL database behind the ADO.NET clustering, grain storage, reminders and the token ledger (section
/// <see cref="SectionName"/>). Used when <see cref="ClusterHostingOptions.Clustering"/> or
/// <see cref="ClusterHostingOptions.Storage"/> is <c>AdoNet</c>, and by <c>db migrate</c>.
/// </summary>
/// <example>
/// <code>
/// "TokenGrid": { "Database": { "ConnectionString": "Host=db;Username=tokengrid;Password=...;Database=tokengrid", "MigrateOnStartup": true } }
/// </code>
/// </example>
public sealed class DatabaseOptions : IValidatedOptions
{
    /// <summary>The ADO.NET invariant TokenGrid's SQL is written for.</summary>
    public const string PostgresInvariant = "Npgsql";

    /// <summary>Configuration section.</summary>
    public static string SectionName => "TokenGrid:Database";

    /// <summary>
    /// Npgsql connection string; also from the environment as <c>TokenGrid__Database__ConnectionString</c>. Default: none
    /// (required when a provider is <c>AdoNet</c>; no profile sets it, so that none carries a password).
    /// </summary>
    public string? ConnectionString { get; set; }

    /// <summary>
    /// ADO.NET invariant given to Orleans' providers. Default: <c>Npgsql</c>, the only value accepted: the schema and
    /// queries are PostgreSQL's.
    /// </summary>
    public string Invariant { get; set; } = PostgresInvariant;

    /// <summary>
    /// Whether the silo applies pending migrations (under an advisory lock, so silos starting together are safe) before
    /// it joins the cluster. Default: false; the <c>postgres</c> profile sets true. Without it, run <c>db migrate</c>.
    /// </summary>
    public bool MigrateOnStartup { get; set; }

    /// <summary>
    /// How long a starting silo waits for the database to accept connections before it gives up. Default: 00:01:00.
    /// </summary>
    public TimeSpan StartupRetryTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>The pause after the first failed attempt; each next pause doubles. Default: 00:00:00.250.</summary>
    public TimeSpan StartupRetryDelay { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>The longest pause between two attempts. Default: 00:00:05.</summary>
    public TimeSpan StartupRetryMaxDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How far this host's clock may be from PostgreSQL's (<c>clock_timestamp()</c>, the clock every silo can read).
    /// Beyond it a silo does not start (one line, exit code 1) and a running silo logs an Error at each check. Default:
    /// 00:00:01. Silos date ledger lines with their own clocks, so an offset moves charges near midnight into another
    /// day or month, and Orleans declares a silo whose clock is about 30 s behind the others dead as it joins.
    /// </summary>
    public TimeSpan MaxClockOffset { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How often a running silo compares its clock with PostgreSQL's. Default: 00:01:00.</summary>
    public TimeSpan ClockCheckInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <inheritdoc />
    public string? Validate() =>
        Invariant != PostgresInvariant ? $"invariant must be \"{PostgresInvariant}\"."
        : StartupRetryTimeout < TimeSpan.Zero ? "the startup retry timeout must not be negative."
        : StartupRetryDelay <= TimeSpan.Zero ? "the startup retry delay must be positive."
        : StartupRetryMaxDelay < StartupRetryDelay ? "the startup retry max delay must be at least the retry delay."
: MaxClockOffset <= TimeSpan.Zero ? "the max clock offset must be positive."
        : ClockCheckInterval <= TimeSpan.Zero || ClockCheckInterval.TotalMilliseconds > uint.MaxValue - 1 ? "the clock check interval must be positive and at most 49 days."
        : null;

    /// <summary>
    /// The connection string, or a clear error naming the setting when there is none or Npgsql cannot read it (an
    /// unknown keyword, a port that is not a number, text that is not <c>key=value;…</c>).
    /// </summary>
    public string RequireConnectionString()
    {
        if (string.IsNullOrWhiteSpace(ConnectionString))
        {
            // No profile ships one (a default credential would be used wherever nobody set it): the operator gives it.
            throw Invalid("a connection string is required and no profile ships one: set TokenGrid__Database__ConnectionString "
                + "(or TokenGrid:Database:ConnectionString) to Host=…;Port=5432;Username=…;Password=…;Database=….");
        }

        try
        {
            _ = new Npgsql.NpgsqlConnectionStringBuilder(ConnectionString);
        }
        catch (ArgumentException e)
        {
            // Npgsql names the keyword (or the offset) and the reason, never the values: the password stays out.
            var reason = e.InnerException is { } inner ? $"{e.Message} {inner.Message}" : e.Message;
            throw Invalid($"the connection string is not one Npgsql reads ({reason}); write it as Host=…;Port=5432;Username=…;Password=…;Database=….");
        }

        return ConnectionString;
    }

    private static Microsoft.Extensions.Options.OptionsValidationException Invalid(string problem) =>
        new(SectionName, typeof(DatabaseOptions), [$"{SectionName}: {problem}"]);
}
