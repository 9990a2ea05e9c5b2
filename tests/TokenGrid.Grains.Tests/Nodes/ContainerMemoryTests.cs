using TokenGrid.Grains.Catalog;
using TokenGrid.Grains.Nodes;

namespace TokenGrid.Grains.Tests.Nodes;

/// <summary>
/// A node's memory budget comes from the pod's memory limit when none is configured, and a model whose full batch does not
/// fit it still serves, with the key/value cache the budget leaves.
/// </summary>
public sealed class ContainerMemoryTests : IDisposable
{
    private const long GiB = 1L << 30;
    private readonly string _root = Directory.CreateTempSubdirectory("tokengrid-cgroup-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Theory]
    [InlineData("memory.max", "4294967296\n", 4294967296L)]
    [InlineData("memory.max", "max\n", null)]
    [InlineData("memory/memory.limit_in_bytes", "2147483648\n", 2147483648L)]
    [InlineData("memory/memory.limit_in_bytes", "9223372036854771712\n", null)]
    public void The_limit_is_read_from_cgroup_v2_or_v1(string file, string content, long? expected)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(_root, file))!);
        File.WriteAllText(Path.Combine(_root, file), content);

        Assert.Equal(expected, ContainerMemory.Limit(_root));
    }

    [Fact]
    public void Without_a_cgroup_there_is_no_limit() => Assert.Null(ContainerMemory.Limit(_root));

    [Fact]
    public void An_unset_budget_is_the_containers_limit_less_the_silos_reserve_shared_by_the_cpu_nodes()
    {
        var one = new NodeOptions { Devices = ["cpu0"] };
        var two = new NodeOptions { Devices = ["cpu0", "cpu1", "gpu0"] };
        var reserve = (768L << 20) + (4 * GiB / 10);

        Assert.Equal((4 * GiB) - reserve, one.BudgetOf("cpu0", 4 * GiB));
        Assert.Equal(((4 * GiB) - reserve) / 2, two.BudgetOf("cpu1", 4 * GiB));
        Assert.Equal(0, two.BudgetOf("gpu0", 4 * GiB));
        Assert.Equal(0, one.BudgetOf("cpu0", null));
        Assert.Equal(0, new NodeOptions { Devices = ["cpu0"], MemoryBudgetBytes = 0 }.BudgetOf("cpu0", 4 * GiB));
        Assert.Equal(GiB, new NodeOptions { Devices = ["cpu0"], MemoryBudgetBytes = GiB }.BudgetOf("cpu0", 4 * GiB));
        Assert.Equal(1, one.BudgetOf("cpu0", 512L << 20));
    }

    [Fact]
    public void A_model_takes_the_key_value_cache_the_budget_leaves_down_to_one_sequence_at_full_context()
    {
        const long weights = 100, perSequence = 10, prefix = 20;

        Assert.Equal(new ModelFit(100 + 320 + 20, 320, false), ModelMemory.Fit(0, weights, perSequence, 16, prefix));
        Assert.Equal(new ModelFit(1000, 880, true), ModelMemory.Fit(1000, weights, perSequence, 64, prefix));
        Assert.Equal(new ModelFit(100 + 60 + 20, 60, true), ModelMemory.Fit(0, weights, perSequence, 16, prefix, kvLimitBytes: 60));
        Assert.Equal(new ModelFit(100 + 20 + 20, 20, true), ModelMemory.Fit(0, weights, perSequence, 16, prefix, kvLimitBytes: 5));
        Assert.Equal(new ModelFit(140, 20, true), ModelMemory.Fit(140, weights, perSequence, 16, prefix));
        Assert.Null(ModelMemory.Fit(139, weights, perSequence, 16, prefix));
    }
}
