using System.Collections.Concurrent;
using System.Globalization;
using Orleans.Runtime;
using Orleans.Serialization;
using Orleans.Storage;

namespace TokenGrid.Grains.Storage;

/// <summary>
/// Grain storage in this process's memory, for the single-silo local profile: state is lost when the process
/// ends. Unlike Orleans' memory storage, which routes every write through a storage grain, a write here is a
/// deep copy into a dictionary, so a tenant's admission costs what its logic costs. ETags are checked exactly as a
/// database provider checks them: a stale write throws <see cref="InconsistentStateException"/>.
/// </summary>
public sealed class InProcessGrainStorage(DeepCopier copier) : IGrainStorage
{
    private readonly ConcurrentDictionary<(string State, GrainId Grain), Stored> _states = new();
    private long _version;

    /// <inheritdoc/>
    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        if (_states.TryGetValue((stateName, grainId), out var stored))
        {
            grainState.State = copier.Copy((T)stored.State);
            grainState.ETag = stored.ETag;
            grainState.RecordExists = true;
        }
        else
        {
            grainState.State = Activator.CreateInstance<T>();
            grainState.ETag = null;
            grainState.RecordExists = false;
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var key = (stateName, grainId);
        var next = new Stored(copier.Copy(grainState.State)!, NextETag());
        var written = grainState.ETag is null
            ? _states.TryAdd(key, next)
            : _states.TryGetValue(key, out var current) && current.ETag == grainState.ETag && _states.TryUpdate(key, next, current);
        if (!written)
        {
            throw new InconsistentStateException(
                $"The {stateName} state of {grainId} was changed by another writer.", _states.TryGetValue(key, out var s) ? s.ETag : "none", grainState.ETag ?? "none");
        }

        grainState.ETag = next.ETag;
        grainState.RecordExists = true;
        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        _states.TryRemove((stateName, grainId), out _);
        grainState.State = Activator.CreateInstance<T>();
        grainState.ETag = null;
        grainState.RecordExists = false;
        return Task.CompletedTask;
    }

    private string NextETag() => Interlocked.Increment(ref _version).ToString(CultureInfo.InvariantCulture);

    private sealed record Stored(object State, string ETag);
}
