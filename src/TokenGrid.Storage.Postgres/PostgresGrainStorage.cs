using Orleans.Runtime;
using Orleans.Storage;

namespace TokenGrid.Storage.Postgres;

/// <summary>
/// Orleans' ADO.NET grain storage with TokenGrid's failure handling: when a read, write or clear fails on PostgreSQL,
/// the broken pooled connections are dropped (<see cref="PostgresConnections.ForgetBroken"/>) before the error goes on
/// to the grain unchanged, so the grain's next attempt after a database restart already succeeds. Grains never see
/// this type; they use their <c>IPersistentState</c> as before.
/// </summary>
/// <remarks>
/// Orleans starts a storage provider by casting the registered <see cref="IGrainStorage"/> to a lifecycle participant,
/// so this wrapper passes <see cref="Participate"/> on to the storage it wraps.
/// </remarks>
public sealed class PostgresGrainStorage(IGrainStorage inner) : IGrainStorage, ILifecycleParticipant<ISiloLifecycle>
{
    /// <inheritdoc/>
    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        ForgettingBrokenAsync(() => inner.ReadStateAsync(stateName, grainId, grainState));

    /// <inheritdoc/>
    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        ForgettingBrokenAsync(() => inner.WriteStateAsync(stateName, grainId, grainState));

    /// <inheritdoc/>
    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        ForgettingBrokenAsync(() => inner.ClearStateAsync(stateName, grainId, grainState));

    /// <inheritdoc/>
    public void Participate(ISiloLifecycle lifecycle) => (inner as ILifecycleParticipant<ISiloLifecycle>)?.Participate(lifecycle);

    /// <summary>Awaits <paramref name="operation"/>; when it fails, the pool drops its broken connections and the error goes on.</summary>
    private static async Task ForgettingBrokenAsync(Func<Task> operation)
    {
        try
        {
            await operation();
        }
        catch (Exception e)
        {
            PostgresConnections.ForgetBroken(e);
            throw;
        }
    }
}
