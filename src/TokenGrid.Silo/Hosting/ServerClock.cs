namespace TokenGrid.Silo.Hosting;

/// <summary>When this server started, by the injected clock (the <c>created</c> time of its models).</summary>
internal sealed class ServerClock(TimeProvider time)
{
    /// <summary>The start time.</summary>
    public DateTimeOffset StartedAt { get; } = time.GetUtcNow();
}
