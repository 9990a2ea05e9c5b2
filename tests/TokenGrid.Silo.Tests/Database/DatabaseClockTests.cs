using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using TokenGrid.Silo.Database;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests.Database;

/// <summary>
/// A silo whose clock is far from PostgreSQL's says so: it does not start (one line), and while running it logs an
/// Error. Measured with faketime on two real silos (silo-config/README.md, "Clocks"): one 5 minutes behind was declared
/// dead by Orleans as it joined (exit 134, "I have been told I am dead"), one 5 minutes ahead dated every ledger line
/// 5 minutes late without a word.
/// </summary>
[Collection(PostgresSiloCollection.Name)]
public sealed class DatabaseClockTests
{
    [Theory]
    [InlineData(5, "ahead of")]
    [InlineData(-5, "behind")]
    public async Task A_silo_whose_clock_is_minutes_off_the_database_does_not_start_and_says_why(int minutes, string direction)
    {
        await using var database = await PostgresTestDatabase.CreateAsync();
        var host = new FakeTimeProvider(DateTimeOffset.UtcNow + TimeSpan.FromMinutes(minutes));

        var error = await Assert.ThrowsAnyAsync<Exception>(() => TokenGridServer.StartAsync(
            PostgresSilo.Settings(database.ConnectionString),
            services: services => services.AddSingleton(provider => new DatabaseClock(
                host, provider.GetRequiredService<IOptions<DatabaseOptions>>(), provider.GetRequiredService<ILogger<DatabaseClock>>()))));

        var message = Unavailable(error).Message;
        // The fake host clock stands still while the start takes its seconds.
        var said = Regex.Match(message, $@"^this silo's clock is (\d+\.\d+) s {direction} PostgreSQL's at \S+/{database.Name}, and TokenGrid:Database:MaxClockOffset allows 1 s\.");
        Assert.True(said.Success, message);
        Assert.InRange(double.Parse(said.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), 270, 330);
        Assert.Contains("synchronize this host's clock (NTP, chrony)", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_clock_in_step_with_the_database_reads_within_the_round_trip_and_a_drifted_one_is_an_error_while_running()
    {
        await using var database = await PostgresTestDatabase.CreateAsync(migrate: false);
        var options = Microsoft.Extensions.Options.Options.Create(new DatabaseOptions { ConnectionString = database.ConnectionString });
        var log = new Lines();

        // The test's host and database share one clock.
        var inStep = await new DatabaseClock(TimeProvider.System, options, log).CheckAsync(database.ConnectionString);
        Assert.InRange(inStep.Offset.Duration(), TimeSpan.Zero, inStep.RoundTrip / 2 + TimeSpan.FromMilliseconds(50));
        Assert.Empty(log.Errors);

        var ahead = new FakeTimeProvider(DateTimeOffset.UtcNow + TimeSpan.FromSeconds(30));
        var drifted = await new DatabaseClock(ahead, options, log).CheckAsync(database.ConnectionString);
        Assert.InRange(drifted.Offset, TimeSpan.FromSeconds(25), TimeSpan.FromSeconds(31));
        var error = Assert.Single(log.Errors);
        Assert.Matches(@"^This silo's clock is \d\d\.\d+ s ahead of PostgreSQL's at \S+, beyond TokenGrid:Database:MaxClockOffset \(1 s\)", error);
    }

    private static DatabaseUnavailableException Unavailable(Exception error)
    {
        for (var e = error; e is not null; e = e.InnerException)
        {
            if (e is DatabaseUnavailableException unavailable)
            {
                return unavailable;
            }

            if (e is AggregateException aggregate && aggregate.InnerExceptions.OfType<DatabaseUnavailableException>().FirstOrDefault() is { } inner)
            {
                return inner;
            }
        }

        throw new Xunit.Sdk.XunitException($"not a DatabaseUnavailableException: {error}");
    }

    /// <summary>Keeps the Error lines, formatted.</summary>
    private sealed class Lines : ILogger<DatabaseClock>
    {
        public List<string> Errors { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel >= LogLevel.Error)
            {
                lock (Errors)
                {
                    Errors.Add(formatter(state, exception));
                }
            }
        }
    }
}
