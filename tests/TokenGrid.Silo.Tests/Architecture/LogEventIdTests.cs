using System.Reflection;
using Microsoft.Extensions.Logging;

namespace TokenGrid.Silo.Tests.Architecture;

/// <summary>
/// Each log message of ours has an event id of its own, across every TokenGrid assembly: operators filter and alert on
/// event ids (silo-config/README.md, "Logs", and the ids the docs name), so two messages sharing one would put one
/// event's alerts on another. Read from the <see cref="LoggerMessageAttribute"/> of every logging method.
/// </summary>
public sealed class LogEventIdTests
{
    [Fact]
    public void No_two_log_messages_share_an_event_id()
    {
        var assemblies = new[]
        {
            typeof(TokenGrid.Abstractions.Jobs.JobSpec).Assembly,
            typeof(TokenGrid.Inference.Engine.InferenceEngine).Assembly,
            typeof(TokenGrid.Grains.Jobs.JobGrain).Assembly,
            typeof(TokenGrid.Silo.Apis.JobsApi).Assembly,
            typeof(TokenGrid.Storage.Postgres.PostgresTenantStore).Assembly,
        };
        var messages = assemblies
            .SelectMany(a => a.GetTypes())
            .SelectMany(t => t.GetMethods(BindingFlags.Static | BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            .Select(m => (Method: m, Attribute: m.GetCustomAttribute<LoggerMessageAttribute>()))
            .Where(m => m.Attribute is { EventId: > 0 })
            .ToList();
        Assert.True(messages.Count > 100, $"only {messages.Count} logging methods found");

        var shared = messages
            .GroupBy(m => m.Attribute!.EventId)
            .Where(g => g.Select(m => m.Attribute!.Message).Distinct(StringComparer.Ordinal).Count() > 1)
            .Select(g => $"{g.Key}: {string.Join(" | ", g.Select(m => $"{m.Method.DeclaringType!.FullName}.{m.Method.Name}"))}")
            .ToList();
        Assert.True(shared.Count == 0, "Event ids used by more than one message:" + Environment.NewLine + string.Join(Environment.NewLine, shared));
    }
}
