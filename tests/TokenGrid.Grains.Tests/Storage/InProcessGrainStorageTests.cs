using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime;
using Orleans.Serialization;
using Orleans.Storage;
using TokenGrid.Grains.Storage;
using TokenGrid.Grains.Tenants;

namespace TokenGrid.Grains.Tests.Storage;

public sealed class InProcessGrainStorageTests
{
    private static readonly GrainId s_grain = GrainId.Create("tenant", "t1");
    private readonly InProcessGrainStorage _storage = new(
        new ServiceCollection().AddSerializer().BuildServiceProvider().GetRequiredService<DeepCopier>());

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
}
