using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using TokenGrid.Grains.Audit;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests.Audit;

/// <summary>
/// A change the audit log cannot record is made but not answered as a success: 503 <c>change_not_audited</c>, and an
/// error in the server's log. The log here fails on command.
/// </summary>
public sealed class AuditFailureTests : IAsyncLifetime
{
    private readonly FailingAuditLog _log = new();
    private readonly ErrorLogCapture _errors = new();
    private TokenGridServer _server = null!;

    public async Task InitializeAsync() => _server = await TokenGridServer.StartAsync(services: services =>
    {
        services.AddSingleton<IAuditLog>(_log);
        services.AddSingleton<ILoggerProvider>(_errors);
    });

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task A_change_the_log_cannot_record_is_made_and_answered_503_with_an_error_logged()
    {
        using var admin = _server.Client(TokenGridServer.AdminKey);
        await (await admin.PostAsJsonAsync("admin/tenants", new { id = "audited" })).ReadJsonAsync(HttpStatusCode.Created);
        Assert.Single(_log.Appended);

        _log.Failing = true;
        using var refused = await admin.PatchAsJsonAsync("admin/tenants/audited", new { name = "Changed" });
        var problem = await refused.AssertProblemAsync(HttpStatusCode.ServiceUnavailable, "change_not_audited");

        // Made already: a client must not send it again, so no Retry-After, and the SDKs' own hint says not to retry.
        Assert.Null(refused.Headers.RetryAfter);
        Assert.Equal("false", Assert.Single(refused.Headers.GetValues("x-should-retry")));
        Assert.Contains("tenant.update of 'audited'", problem["detail"]!.GetValue<string>());
        Assert.Contains("was made", problem["detail"]!.GetValue<string>());

        // The change itself stands; the log holds only what it recorded; the error says what went unrecorded.
        Assert.Equal("Changed", (await (await admin.GetAsync("admin/tenants/audited")).ReadJsonAsync())["name"]!.GetValue<string>());
        Assert.Single(_log.Appended);
        var error = Assert.Single(_errors.Errors, e => e.Contains("could not be written to the audit log", StringComparison.Ordinal));
        Assert.Contains("tenant.update", error);
        Assert.DoesNotContain(TokenGridServer.AdminKey, error);
    }

    private sealed class FailingAuditLog : IAuditLog
    {
        private readonly InMemoryAuditLog _inner = new();

        public volatile bool Failing;

        public List<AuditChange> Appended { get; } = [];

        public async Task<AuditEntry> AppendAsync(AuditChange change, CancellationToken cancellationToken = default)
        {
            if (Failing)
            {
                throw new InvalidOperationException("The audit log is unavailable (test).");
            }

            var entry = await _inner.AppendAsync(change, cancellationToken);
            lock (Appended)
            {
                Appended.Add(change);
            }

            return entry;
        }

        public Task<AuditPage> ReadAsync(AuditQuery query, CancellationToken cancellationToken = default) => _inner.ReadAsync(query, cancellationToken);
    }
}
