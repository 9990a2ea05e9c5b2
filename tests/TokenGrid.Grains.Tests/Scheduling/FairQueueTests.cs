using TokenGrid.Abstractions.Scheduling;
using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.Scheduling;

namespace TokenGrid.Grains.Tests.Scheduling;

public sealed class FairQueueTests
{
    private static readonly DateTimeOffset s_start = new(2026, 3, 14, 9, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan s_aging = TimeSpan.FromSeconds(30);

    [Fact]
    public void Backlogged_tenants_are_served_tokens_in_proportion_to_their_weights()
    {
        var queue = new FairQueue(s_aging);
        var served = new Dictionary<string, long> { ["light"] = 0, ["heavy"] = 0 };
        for (var i = 0; i < 400; i++)
        {
            queue.Enqueue(Job($"l{i}", "light", weight: 1, maxTokens: 40));
            queue.Enqueue(Job($"h{i}", "heavy", weight: 3, maxTokens: 40));
        }

        for (var i = 0; i < 400; i++)
        {
            var next = queue.Heads(s_start)[0];
            queue.Dispatch(next);
            served[next.Request.TenantId] += next.Request.Cost;
        }

        Assert.InRange((double)served["heavy"] / served["light"], 2.95, 3.05);
    }

    [Fact]
    public void Cost_is_counted_in_tokens_not_requests()
    {
        var queue = new FairQueue(s_aging);
        for (var i = 0; i < 100; i++)
        {
            queue.Enqueue(Job($"big{i}", "big", maxTokens: 390));
            queue.Enqueue(Job($"small{i}", "small", maxTokens: 30));
        }

        var dispatched = new Dictionary<string, int> { ["big"] = 0, ["small"] = 0 };
        for (var i = 0; i < 44; i++)
        {
            var next = queue.Heads(s_start)[0];
            queue.Dispatch(next);
            dispatched[next.Request.TenantId]++;
        }

        // Equal weights, 400 against 40 tokens per job: ten small jobs for every big one.
        Assert.Equal(4, dispatched["big"]);
        Assert.Equal(40, dispatched["small"]);
    }

    [Fact]
    public void A_tenant_arriving_late_goes_ahead_of_a_backlog_and_banks_no_credit_while_idle()
    {
        var queue = new FairQueue(s_aging);
        for (var i = 0; i < 50; i++)
        {
            queue.Enqueue(Job($"h{i}", "heavy"));
        }

        for (var i = 0; i < 20; i++)
        {
            queue.Dispatch(queue.Heads(s_start)[0]);
        }

        queue.Enqueue(Job("light-1", "light"));
        queue.Enqueue(Job("light-2", "light"));

        Assert.Equal(1, queue.PositionOf("light-1", s_start));
        Assert.Equal("light-1", queue.Heads(s_start)[0].Request.JobId);

        // Its second job alternates with the backlog instead of jumping all of it.
        queue.Dispatch(queue.Heads(s_start)[0]);
        Assert.Equal(2, queue.PositionOf("light-2", s_start));
        Assert.Equal("h20", queue.Heads(s_start)[0].Request.JobId);
    }

    [Fact]
    public void Priority_classes_come_before_fairness_and_waiting_batch_work_ages_upwards()
    {
        var queue = new FairQueue(s_aging);
        queue.Enqueue(Job("batch", "b", PriorityClass.Low) with { EnqueuedAt = s_start });
        queue.Enqueue(Job("standard", "s") with { EnqueuedAt = s_start.AddSeconds(40) });
        queue.Enqueue(Job("interactive", "i", PriorityClass.High) with { EnqueuedAt = s_start.AddSeconds(40) });

        Assert.Equal(["interactive", "standard", "batch"], Order(queue, s_start.AddSeconds(25)));

        // After one interval the batch job competes as Standard and, queued first, goes first among them.
        Assert.Equal(["interactive", "batch", "standard"], Order(queue, s_start.AddSeconds(41)));

        // After two it competes as High.
        Assert.Equal(["batch", "interactive", "standard"], Order(queue, s_start.AddSeconds(61)));
    }

    [Fact]
    public void A_resumed_job_goes_first_among_its_tenants_jobs_and_a_removed_job_is_refunded()
    {
        var queue = new FairQueue(s_aging);
        queue.Enqueue(Job("a1", "a"));
        queue.Enqueue(Job("a2", "a"));
        queue.Enqueue(Job("a0", "a") with { Resumed = true });
        Assert.Equal("a0", queue.Heads(s_start)[0].Request.JobId);

        Assert.True(queue.Remove("a2"));
        Assert.False(queue.Remove("a2"));
        Assert.Equal(2, queue.Count);
        Assert.Equal(2, queue.CountFor("a"));
        Assert.Equal(0, queue.PositionOf("a2", s_start));
    }

    private static string[] Order(FairQueue queue, DateTimeOffset now) =>
        [.. queue.Jobs.OrderBy(j => queue.PositionOf(j.Request.JobId, now)).Select(j => j.Request.JobId)];

    internal static DispatchRequest Job(string id, string tenant, PriorityClass priority = PriorityClass.Standard, int weight = 1, int maxTokens = 40) => new()
    {
        JobId = id,
        TenantId = tenant,
        Priority = priority,
        Weight = weight,
        PromptTokens = 10,
        MaxTokens = maxTokens,
        EnqueuedAt = s_start,
    };
}
