using TokenGrid.Abstractions.Jobs;

namespace TokenGrid.Grains.Tests.Scheduling;

[Collection(SchedulingCollection.Name)]
public sealed class DispatchSmokeTests(SchedulingClusterFixture grid)
{
    [Fact]
    public async Task Jobs_beyond_the_slots_wait_in_the_queue_and_all_complete()
    {
        var tenant = await grid.CreateTenantAsync();
        var jobs = await Task.WhenAll(Enumerable.Range(0, 12).Select(i => grid.SubmitAsync(tenant, maxTokens: 200, promptSeed: i)));
        var queued = jobs.Count(j => j.Info.QueuePosition is > 0);
        var infos = await Task.WhenAll(jobs.Select(j => SchedulingClusterFixture.FinishedAsync(j.Grain)));

        // Six slots: the other jobs waited in the queue rather than in the engines.
        Assert.True(queued >= 3, $"only {queued} jobs were queued");
        Assert.All(infos, i => Assert.Equal(JobStatus.Succeeded, i.Status));
        Assert.All(infos, i => Assert.InRange(i.CompletionTokens, 1, 200));
        Assert.All(infos, i => Assert.Null(i.QueuePosition));
    }
}
