using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using TokenGrid.Silo.Database;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests.Database;

public sealed class DatabaseWaiterTests
{
    private static readonly DatabaseOptions s_options = new()
    {
        StartupRetryTimeout = TimeSpan.FromSeconds(30),
        StartupRetryDelay = TimeSpan.FromSeconds(1),
        StartupRetryMaxDelay = TimeSpan.FromSeconds(4),
    };

    [Fact]
    public async Task It_waits_for_a_database_created_late_then_returns()
    {
        var name = "tg_test_late_" + Guid.NewGuid().ToString("N")[..12];
        var time = new SleepingClock();
        var log = new RecordingLogger<DatabaseWaiter>();
        var next = log.Next;
        var waiting = new DatabaseWaiter(time, log).WaitAsync(PostgresTestDatabase.ConnectionStringFor(name), s_options);

        // The first attempt fails (no such database) and says so; the waiter then sleeps on the fake clock.
        var warning = await next.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Contains("attempt 1 failed", warning);
        Assert.Contains(name, warning);
        Assert.False(waiting.IsCompleted);

        await using var database = await PostgresTestDatabase.CreateAsync(migrate: false, name: name);
        await time.UntilSleepingAsync().WaitAsync(TimeSpan.FromSeconds(30));
        time.Advance(TimeSpan.FromSeconds(1));
        await waiting.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Contains(log.Messages, m => m.Contains("answered after 2 attempts", StringComparison.Ordinal));
    }

    [Fact]
    public async Task It_gives_up_with_a_clear_error_after_the_timeout()
    {
        var time = new SleepingClock();
        var log = new RecordingLogger<DatabaseWaiter>();
        var missing = PostgresTestDatabase.ConnectionStringFor("tg_test_never_" + Guid.NewGuid().ToString("N")[..12]);
        var next = log.Next;
        var waiting = new DatabaseWaiter(time, log).WaitAsync(missing, s_options);

        // Pauses double (1, 2, 4, 4, … s) until 30 s of fake time have passed. After each message the waiter goes to sleep
        // on the fake clock; the clock moves once it sleeps, and the next signal is taken before, so nothing is missed.
        while (true)
        {
            await Task.WhenAny(next, waiting).WaitAsync(TimeSpan.FromSeconds(30));
            if (waiting.IsCompleted)
            {
                break;
            }

            next = log.Next;
            await Task.WhenAny(time.UntilSleepingAsync(), waiting).WaitAsync(TimeSpan.FromSeconds(30));
            time.Advance(TimeSpan.FromSeconds(4));
        }

        var error = await Assert.ThrowsAsync<DatabaseUnavailableException>(() => waiting);
        Assert.Contains("did not answer within 00:00:30", error.Message);
        Assert.Contains(log.Messages, m => m.Contains("retrying in 2.0 s", StringComparison.Ordinal));
        Assert.Contains(log.Messages, m => m.Contains("the silo cannot start", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_wrong_password_fails_at_once()
    {
        var builder = new Npgsql.NpgsqlConnectionStringBuilder(PostgresTestDatabase.ServerConnectionString) { Password = "not-the-password" };
        var error = await Assert.ThrowsAsync<DatabaseUnavailableException>(
            () => new DatabaseWaiter(new FakeTimeProvider()).WaitAsync(builder.ConnectionString, s_options).WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("refused the connection", error.Message);
        Assert.DoesNotContain("not-the-password", error.Message);
    }

    /// <summary>Keeps formatted messages and signals each one.</summary>
    private sealed class RecordingLogger<T> : ILogger<T>
    {
        private readonly object _gate = new();
        private TaskCompletionSource<string> _next = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public List<string> Messages { get; } = [];

        /// <summary>Completes with the next message logged.</summary>
        public Task<string> Next
        {
            get
            {
                lock (_gate)
                {
                    return _next.Task;
                }
            }
        }

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var message = formatter(state, exception);
            TaskCompletionSource<string> signalled;
            lock (_gate)
            {
                Messages.Add(message);
                signalled = _next;
                _next = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            signalled.SetResult(message);
        }
    }
}
