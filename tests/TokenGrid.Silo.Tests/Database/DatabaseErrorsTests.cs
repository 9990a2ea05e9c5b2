using System.Reflection;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Orleans.Serialization;
using TokenGrid.Grains.Storage;
using TokenGrid.Silo.Problems;

namespace TokenGrid.Silo.Tests.Database;

/// <summary>
/// Which database errors the API answers 503 with Retry-After (they pass by themselves) and which are a 500 (a retry
/// fails the same way), on errors a real PostgreSQL raises, as they are and after crossing silos.
/// </summary>
public sealed class DatabaseErrorsTests
{
    /// <summary>What TokenGrid counts as passing by itself beyond Npgsql's own list: every connection error, and a statement cancelled.</summary>
    private static readonly string[] s_beyondNpgsql = ["08P01", PostgresErrorCodes.QueryCanceled];

    [Fact]
    public void The_classification_is_npgsqls_for_every_sqlstate_it_names_plus_class_08_and_a_cancelled_statement()
    {
        var codes = typeof(PostgresErrorCodes).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.IsLiteral && f.FieldType == typeof(string))
            .Select(f => (string)f.GetRawConstantValue()!)
            .Distinct()
            .ToList();
        Assert.True(codes.Count > 200, $"Only {codes.Count} codes found in PostgresErrorCodes.");

        var differing = codes
            .Where(code => DatabaseErrors.IsTransientState(code) != (Npgsql(code).IsTransient || s_beyondNpgsql.Contains(code)))
            .ToList();
        Assert.True(differing.Count == 0, "Classified otherwise than Npgsql: " + string.Join(", ", differing));

        // The outages the API must keep answering 503, and the faults it must not.
        Assert.All(["08000", "08003", "08006", "57P01", "57P02", "57P03", "53300", "40001", "40P01", "57014"], code => Assert.True(DatabaseErrors.IsTransientState(code), code));
        Assert.All(["42501", "42703", "42P01", "23505", "23514", "23502", "22021", "22P05", "22003", "XX000"], code => Assert.False(DatabaseErrors.IsTransientState(code), code));
    }

    [Fact]
    public async Task Errors_a_real_postgresql_raises_are_classified_as_they_are_and_after_crossing_silos()
    {
        await using var database = await PostgresTestDatabase.CreateAsync(migrate: false);
        await database.ExecuteAsync("""
            CREATE TABLE t (id int PRIMARY KEY, n int CHECK (n >= 0));
            INSERT INTO t VALUES (1, 1);
            CREATE TABLE locked (id int);
            REVOKE INSERT ON locked FROM CURRENT_USER;
            """);

        var permanent = new Dictionary<string, string>
        {
            ["42501"] = "INSERT INTO locked VALUES (1)", // a privilege the role lacks
            ["42703"] = "SELECT missing FROM t", // a missing column
            ["42P01"] = "SELECT * FROM missing", // a missing table
            ["23505"] = "INSERT INTO t VALUES (1, 1)", // a unique violation
            ["23514"] = "INSERT INTO t VALUES (2, -1)", // a check constraint
            ["22021"] = "SELECT convert_from('\\xff'::bytea, 'UTF8')", // text the database cannot store
        };
        foreach (var (state, sql) in permanent)
        {
            var error = await Assert.ThrowsAsync<PostgresException>(() => database.ExecuteAsync(sql));
            Assert.Equal(state, error.SqlState);
            foreach (var (how, e) in Forms(error))
            {
                Assert.True(DatabaseErrors.SqlState(e) == state, $"{state} {how}: SQLSTATE {DatabaseErrors.SqlState(e)}");
                Assert.False(StorageUnavailableException.IsTransient(e), $"{state} {how} counted as transient");
                Assert.True(DatabaseErrors.IsPermanent(e), $"{state} {how} not counted as permanent");
            }
        }

        // A statement cut by statement_timeout, and a connection ended by the server (as a restart or failover ends it).
        var cancelled = await Assert.ThrowsAsync<PostgresException>(() => database.ExecuteAsync("SET statement_timeout = 50; SELECT pg_sleep(5)"));
        await using var victim = new NpgsqlConnection(database.ConnectionString + ";Pooling=false");
        await victim.OpenAsync();
        await database.ExecuteAsync($"SELECT pg_terminate_backend({victim.ProcessID})");
        var terminated = await Assert.ThrowsAnyAsync<NpgsqlException>(async () =>
        {
            await using var command = new NpgsqlCommand("SELECT 1", victim);
            await command.ExecuteScalarAsync();
        });
        var refused = await Assert.ThrowsAnyAsync<NpgsqlException>(async () =>
        {
            await using var nothing = new NpgsqlConnection("Host=127.0.0.1;Port=1;Username=x;Password=x;Timeout=2;Pooling=false");
            await nothing.OpenAsync();
        });

        Assert.Equal(PostgresErrorCodes.QueryCanceled, cancelled.SqlState);
        Assert.Equal(PostgresErrorCodes.AdminShutdown, DatabaseErrors.SqlState(terminated));
        foreach (var (what, error) in new (string, Exception)[] { ("statement timeout", cancelled), ("terminated", terminated), ("refused", refused) })
        {
            foreach (var (how, e) in Forms(error))
            {
                Assert.True(StorageUnavailableException.IsTransient(e), $"{what} {how} not counted as transient");
                Assert.False(DatabaseErrors.IsPermanent(e), $"{what} {how} counted as permanent");
            }
        }
    }

    [Fact]
    public async Task The_api_answers_a_fault_500_without_retry_an_outage_503_with_retry_after_and_unstorable_text_400()
    {
        await using var database = await PostgresTestDatabase.CreateAsync(migrate: false);
        await database.ExecuteAsync("CREATE TABLE locked (id int); REVOKE INSERT ON locked FROM CURRENT_USER");
        var fault = await Assert.ThrowsAsync<PostgresException>(() => database.ExecuteAsync("INSERT INTO locked VALUES (1)"));
        var text = await Assert.ThrowsAsync<PostgresException>(() => database.ExecuteAsync("SELECT convert_from('\\xff'::bytea, 'UTF8')"));
        var outage = new PostgresException("terminating connection due to administrator command", "FATAL", "FATAL", PostgresErrorCodes.AdminShutdown);

        foreach (var (how, e) in Forms(fault).Append(("saved by a grain", StorageFailedException.For(fault, "Tenant 'a' could not save its state"))))
        {
            var problem = ApiExceptionHandler.Map(e);
            Assert.True((problem.Status, problem.Code, problem.ShouldRetry, problem.RetryAfter) == (500, "internal_error", false, null), $"{how}: {problem}");
        }

        foreach (var (how, e) in Forms(outage).Append(("saved by a grain", StorageFailedException.For(outage, "Tenant 'a' could not save its state"))))
        {
            var problem = ApiExceptionHandler.Map(e);
            Assert.True((problem.Status, problem.RetryAfter) == (503, StorageUnavailableException.RetryAfter), $"{how}: {problem}");
        }

        foreach (var (how, e) in Forms(text).Append(("saved by a grain", StorageFailedException.For(text, "Tenant 'a' could not save its state"))))
        {
            var problem = ApiExceptionHandler.Map(e);
            Assert.True((problem.Status, problem.Code) == (400, "invalid_value"), $"{how}: {problem}");
        }
    }

    [Fact]
    public void A_grain_wraps_a_failed_save_by_whether_a_retry_can_fix_it_and_the_sqlstate_crosses_silos_with_it()
    {
        var fault = StorageFailedException.For(new PostgresException("permission denied for table tokengrid_ledger", "ERROR", "ERROR", "42501"), "Tenant 'a' could not save its state");
        var failed = Assert.IsType<StorageFailedException>(s_plain.Deserialize<Exception>(s_plain.SerializeToArray(fault)));
        Assert.Equal("42501", failed.SqlState);
        Assert.Equal("Tenant 'a' could not save its state (42501: permission denied for table tokengrid_ledger); nothing was applied.", failed.Message);
        Assert.True(DatabaseErrors.IsPermanent(failed));

        var outage = StorageFailedException.For(new PostgresException("terminating connection due to administrator command", "FATAL", "FATAL", "57P01"), "Tenant 'a' could not save its state");
        Assert.IsType<StorageUnavailableException>(s_plain.Deserialize<Exception>(s_plain.SerializeToArray(outage)));
    }

    /// <summary>
    /// <paramref name="error"/> as a grain's caller may meet it: as thrown; rebuilt by Orleans on another silo of the
    /// postgres profile, which lets Npgsql's exceptions cross (Npgsql's own fields, the SQLSTATE among them, are lost; the
    /// message is kept); wrapped; and as the fallback Orleans makes where the type cannot be loaded (its name and the
    /// message).
    /// </summary>
    private static IEnumerable<(string How, Exception Error)> Forms(Exception error)
    {
        yield return ("as thrown", error);
        var rebuilt = RoundTrip(error);
        Assert.IsType(error.GetType(), rebuilt);
        Assert.Equal(error.Message, rebuilt.Message);
        if (rebuilt is PostgresException postgres)
        {
            Assert.Null(postgres.SqlState);
        }

        yield return ("rebuilt on another silo", rebuilt);
        yield return ("wrapped", new InvalidOperationException("outer", rebuilt));

        // Made by hand: Orleans makes one only where the type cannot be loaded (a process without Npgsql), not on a silo.
        var fallback = new UnavailableExceptionFallbackException(error.Message, null!);
        typeof(UnavailableExceptionFallbackException).GetProperty(nameof(fallback.ExceptionType))!.GetSetMethod(nonPublic: true)!
            .Invoke(fallback, [error.GetType().FullName]);
        yield return ("as a fallback", fallback);
    }

    /// <summary>An exception as Orleans' serializer writes it on one silo and reads it on another (a grain call's reply).</summary>
    private static Exception RoundTrip(Exception error) =>
        s_silo.Deserialize<Exception>(s_silo.SerializeToArray(error)) ?? throw new InvalidOperationException("No exception read back.");

    /// <summary>Orleans' serializer as the postgres profile configures it (DatabaseHosting: Npgsql's exceptions cross silos).</summary>
    private static readonly Serializer s_silo = new ServiceCollection().AddSerializer()
        .Configure<ExceptionSerializationOptions>(o => o.SupportedNamespacePrefixes.Add("Npgsql"))
        .BuildServiceProvider().GetRequiredService<Serializer>();

    /// <summary>Orleans' serializer as other profiles configure it (TokenGrid's own exceptions cross all the same).</summary>
    private static readonly Serializer s_plain = new ServiceCollection().AddSerializer().BuildServiceProvider().GetRequiredService<Serializer>();

    private static PostgresException Npgsql(string code) => new("message", "ERROR", "ERROR", code);
}
