namespace TokenGrid.Benchmarks.Grid;

/// <summary>The baseline: a non-reentrant grain call that does nothing, in the same cluster.</summary>
public interface INoopGrain : IGrainWithStringKey
{
    Task<int> PingAsync(int value);
}

/// <summary>Does nothing; see <see cref="INoopGrain"/>.</summary>
public sealed class NoopGrain : Grain, INoopGrain
{
    public Task<int> PingAsync(int value) => Task.FromResult(value);
}
