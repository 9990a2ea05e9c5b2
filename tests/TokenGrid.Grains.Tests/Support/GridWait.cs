using TokenGrid.Abstractions.Jobs;
namespace TokenGrid.Grains.Tests.Support;

/// <summary>Waiting for what has no signal of its own (engine counters), by polling within a deadline.</summary>
public static class GridWait
{
    /// <summary>Polls <paramref name="condition"/> until it holds; fails after <paramref name="timeout"/> (default 30 s).</summary>
    public static async Task UntilAsync(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        using var deadline = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
        while (!condition())
        {
            if (deadline.IsCancellationRequested)
            {
                Assert.Fail($"Timed out waiting until {what}.");
            }

            await Task.Yield();
            await Task.Delay(5, CancellationToken.None);
        }
    }

    /// <summary>Reads an event stream to its end, failing after <paramref name="timeout"/> (default 60 s).</summary>
    public static async Task<List<T>> ReadAllAsync<T>(IAsyncEnumerable<T> stream, TimeSpan? timeout = null)
    {
        using var deadline = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        var items = new List<T>();
        await foreach (var item in stream.WithCancellation(deadline.Token))
        {
            items.Add(item);
        }

        return items;
    }

    /// <summary>
    /// Asserts that event sequences increase strictly and that each is the position in the text after its event (no gap,
    /// no duplicate): <see cref="JobEventSequence.CharsOf"/> equals the characters of text up to and including it.
    /// </summary>
    public static void AssertSequences(IReadOnlyList<JobEvent> events)
    {
        long chars = 0, last = 0;
        foreach (var e in events)
        {
            chars += e.Text?.Length ?? 0;
            Assert.True(e.Sequence > last, $"Sequence {e.Sequence} does not follow {last}.");
            Assert.Equal(chars, JobEventSequence.CharsOf(e.Sequence));
            last = e.Sequence;
        }
    }
}
