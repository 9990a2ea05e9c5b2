using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Runtime;
using Orleans.Serialization;
using Orleans.Storage;
using TokenGrid.Abstractions.Jobs;
using TokenGrid.Grains.Jobs;
using TokenGrid.Grains.Jobs.Retention;
using TokenGrid.Grains.Storage;
using TokenGrid.Grains.Telemetry;
using TokenGrid.Grains.Tenants;

namespace TokenGrid.Grains.Tests.Storage;

public sealed class InProcessGrainStorageTests
{
    private static readonly GrainId s_grain = GrainId.Create("tenant", "t1");
    private static readonly ServiceProvider s_services = new ServiceCollection().AddSerializer().AddMetrics().BuildServiceProvider();
    private readonly Serializer _serializer = s_services.GetRequiredService<Serializer>();
    private readonly InProcessGrainStorage _storage = new(s_services.GetRequiredService<Serializer>());

    [Fact]
    public async Task A_written_state_reads_back_as_a_copy_that_later_changes_do_not_reach()
    {
        var written = new GrainState<TenantState>(new TenantState { Charged = 42 });
        await _storage.WriteStateAsync("tenant", s_grain, written);
        written.State!.Charged = 99; // changed in memory, never written

        var read = new GrainState<TenantState>();
        await _storage.ReadStateAsync("tenant", s_grain, read);
        Assert.True(read.RecordExists);
        Assert.Equal(42, read.State!.Charged);
        Assert.Equal(written.ETag, read.ETag);
    }

    [Fact]
    public async Task A_write_with_a_stale_etag_is_refused()
    {
        var first = new GrainState<TenantState>(new TenantState());
        await _storage.WriteStateAsync("tenant", s_grain, first);
        var stale = new GrainState<TenantState>(new TenantState()) { ETag = first.ETag };
        await _storage.WriteStateAsync("tenant", s_grain, first);

        await Assert.ThrowsAsync<InconsistentStateException>(() => _storage.WriteStateAsync("tenant", s_grain, stale));
        await Assert.ThrowsAsync<InconsistentStateException>(
            () => _storage.WriteStateAsync("tenant", s_grain, new GrainState<TenantState>(new TenantState())));
    }

    [Fact]
    public async Task Cleared_state_reads_as_new()
    {
        var state = new GrainState<TenantState>(new TenantState { Charged = 1 });
        await _storage.WriteStateAsync("tenant", s_grain, state);
        await _storage.ClearStateAsync("tenant", s_grain, state);

        var read = new GrainState<TenantState>();
        await _storage.ReadStateAsync("tenant", s_grain, read);
        Assert.False(read.RecordExists);
        Assert.Null(read.ETag);
        Assert.Equal(0, read.State!.Charged);
    }

    [Fact]
    public async Task A_finished_job_whose_content_is_deleted_is_kept_as_its_content_free_bytes_only()
    {
        var job = GrainId.Create("job", "job_1");
        var state = new GrainState<JobState>(FinishedJob());
        await _storage.WriteStateAsync(JobContentSweeper.StateName, job, state);
        var withContent = _storage.StoredBytes(JobContentSweeper.StateName, job);

        var retention = new JobRetention(
            new InMemoryJobContentExpiryStore(), _serializer, Options.Create(new JobRetentionOptions()),
            new TokenGridInstruments(s_services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), Options.Create(new TenantSeriesOptions()), TimeProvider.System));
        retention.Erase(state.State!, new JobContentDeletion(JobContentDeletionReason.Expired, DateTimeOffset.UnixEpoch));
        await _storage.WriteStateAsync(JobContentSweeper.StateName, job, state);

        // What stays for the life of a local silo is the record's serialized bytes, nothing more: no object graph, no
        // tokens, log probabilities, prompt, stop sequences, output or user.
        Assert.Equal(_serializer.SerializeToArray(state.State).Length, _storage.StoredBytes(JobContentSweeper.StateName, job));
        Assert.True(_storage.StoredBytes(JobContentSweeper.StateName, job) < withContent);
        var read = new GrainState<JobState>();
        await _storage.ReadStateAsync(JobContentSweeper.StateName, job, read);
        Assert.Empty(read.State!.ProducedTokens);
        Assert.Empty(read.State.Logprobs);
        Assert.Empty(read.State.Spec!.PromptTokens);
        Assert.Empty(read.State.Spec.Stop);
        Assert.Null(read.State.Spec.User);
        Assert.Null(read.State.Info!.Output);
        Assert.Null(read.State.Info.User);
        Assert.Equal(state.State!.Info, read.State.Info);
        Assert.Equal(JobContentDeletionReason.Expired, read.State.Info.ContentDeleted!.Reason);
    }

    private static JobState FinishedJob() => new()
    {
        Spec = new JobSpec
        {
            TenantId = "t1", Model = "demo", PromptTokens = [.. Enumerable.Range(0, 200)], MaxTokens = 64, Stop = ["END"], User = "end-user",
        },
        Info = new JobInfo
        {
            Id = "job_1", TenantId = "t1", Model = "demo", Status = JobStatus.Succeeded, NodeId = "silo/cpu0",
            SubmittedAt = DateTimeOffset.UnixEpoch, FinishedAt = DateTimeOffset.UnixEpoch, PromptTokens = 200, CompletionTokens = 64,
            FinishReason = "length", Output = new string('x', 300), User = "end-user", ContentExpiresAt = DateTimeOffset.UnixEpoch,
        },
        ProducedTokens = [.. Enumerable.Range(0, 64)],
        Logprobs = [.. Enumerable.Range(0, 64).Select(i => new TokenLogprob(i, -0.5f, []))],
        LastSequence = 10,
        ContentExpiryScheduled = true,
    };
}
