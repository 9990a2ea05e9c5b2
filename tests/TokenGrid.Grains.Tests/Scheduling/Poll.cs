namespace TokenGrid.Grains.Tests.Scheduling;

/// <summary>Bounded polling of a grain call, for states that raise no signal of their own (a job's progress, a queue).</summary>
public static class Poll
{
    /// <summary>Calls <paramref name="read"/> until <paramref name="done"/> holds for its answer; fails after <paramref name="timeout"/> (default 30 s).</summary>
    public static async Task<T> UntilAsync<T>(Func<Task<T>> read, Func<T, bool> done, string what, TimeSpan? timeout = null)
    {
        using var deadline = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            var value = await read();
            if (done(value))
            {
                return value;
            }

            if (deadline.IsCancellationRequested)
            {
                Assert.Fail($"Timed out waiting until {what}.");
            }

            await Task.Delay(2, CancellationToken.None);
        }
    }
}
