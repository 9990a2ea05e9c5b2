using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace TokenGrid.Silo.Tests.Support;

/// <summary>
/// A logger provider that keeps every entry at <see cref="LogLevel.Error"/> or above, so a test can assert that bad
/// input was answered without an unhandled error in the server's log.
/// </summary>
public sealed class ErrorLogCapture : ILoggerProvider
{
    private readonly ConcurrentQueue<string> _errors = new();

    /// <summary>The entries kept so far: category, event and message, with the exception's type and message.</summary>
    public IReadOnlyCollection<string> Errors => _errors;

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, _errors);

    public void Dispose()
    {
    }

    private sealed class Logger(string category, ConcurrentQueue<string> errors) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Error;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                errors.Enqueue($"{logLevel} {category} [{eventId}] {formatter(state, exception)} {exception?.GetType()}: {exception?.Message}");
            }
        }
    }
}
