using System.Text.Json.Nodes;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests.Capacity;

/// <summary>Reads <c>GET /v1/capacity</c> until a condition holds, within a deadline.</summary>
public static class CapacityPoll
{
    public static async Task<JsonObject> GetCapacityAsync(this HttpClient client, string query = "")
    {
        using var response = await client.GetAsync("v1/capacity" + query);
        return await response.ReadJsonAsync();
    }

    /// <summary>
    /// Polls until <paramref name="check"/> returns null (all agree) and returns the last report; fails with the last
    /// disagreement at the deadline. <paramref name="beforeEach"/> runs before every read.
    /// </summary>
    public static async Task<JsonObject> UntilAsync(
        Func<Task<JsonObject>> read, Func<JsonObject, Task<string?>> check, TimeSpan timeout, Func<Task>? beforeEach = null)
    {
        using var deadline = new CancellationTokenSource(timeout);
        while (true)
        {
            if (beforeEach is not null)
            {
                await beforeEach();
            }

            var report = await read();
            var disagreement = await check(report);
            if (disagreement is null)
            {
                return report;
            }

            Assert.False(deadline.IsCancellationRequested, $"Timed out: {disagreement}\n{report}");
            await Task.Delay(50, CancellationToken.None);
        }
    }
}
