using System.Collections.Concurrent;
using System.Text;
using Microsoft.Extensions.Logging;

namespace TokenGrid.Silo.Tests.Support;

/// <summary>
/// A logger provider that keeps every entry at <paramref name="minimum"/> or above (<see cref="LogLevel.Error"/> by
/// default), so a test can assert that bad input was answered without an unhandled error in the server's log, or that
/// no entry carries what it must not.
/// </summary>
/// <remarks>The server's own filters (<c>Logging:LogLevel</c>) still apply before an entry reaches this provider.</remarks>
public sealed class ErrorLogCapture(LogLevel minimum = LogLevel.Error) : ILoggerProvider
{
    private readonly ConcurrentQueue<string> _errors = new();

    /// <summary>
    /// The entries kept so far: level, category, event and message, then the exception (type, message, inner
    /// exceptions and stack), then every structured value, as a structured (JSON) logger would write them.
    /// </summary>
    public IReadOnlyCollection<string> Errors => _errors;

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, minimum, _errors);

    public void Dispose()
    {
    }

    private sealed class Logger(string category, LogLevel minimum, ConcurrentQueue<string> errors) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= minimum && logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel))
            {
                return;
            }

            var entry = new StringBuilder($"{logLevel} {category} [{eventId}] {formatter(state, exception)} {exception}");
            if (state is IEnumerable<KeyValuePair<string, object?>> values)
            {
                foreach (var (name, value) in values)
                {
                    entry.Append($" {name}={value}");
                }
            }

            errors.Enqueue(entry.ToString());
        }
    }
}
