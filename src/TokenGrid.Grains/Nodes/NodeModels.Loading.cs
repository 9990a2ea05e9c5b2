using TokenGrid.Grains.Catalog;

namespace TokenGrid.Grains.Nodes;

public sealed partial class NodeModels
{
    /// <summary>
    /// Decides to load <paramref name="model"/> (under the lock): makes room by unloading the least recently used idle
    /// models when <paramref name="allowUnload"/>, reserves its bytes and starts the load on the thread pool. Null with
    /// the reason when it cannot fit.
    /// </summary>
    private NodeModel? Plan(CatalogModel model, bool allowUnload, out string? refusal)
    {
        refusal = null;
        var bytes = model.EstimatedBytes(MaxBatchSize, PrefixCache.Tokens, PrefixCache.BlockTokens);
        var victims = new List<NodeModel>();
        if (BudgetBytes > 0)
        {
            var prefix = model.PrefixCacheBytes(PrefixCache.Tokens, PrefixCache.BlockTokens);
            var need = $"Model '{model.Name}' needs about {ModelMemory.Format(bytes)} (weights {ModelMemory.Format(model.WeightBytes)}, the "
                + $"key/value cache of {MaxBatchSize} sequences at {model.ContextLength} tokens"
                + (prefix > 0 ? $" and a prefix cache of {ModelMemory.Format(prefix)})" : ")");
            if (bytes > BudgetBytes)
            {
                refusal = $"{need}, more than node '{NodeId}''s whole memory budget of {ModelMemory.Format(BudgetBytes)}.";
                return null;
            }

            var free = BudgetBytes - _models.Values.Sum(m => m.Bytes);
            foreach (var idle in _models.Values.Where(m => allowUnload && m.IsLoaded && m.Users == 0).OrderBy(m => m.LastUsed))
            {
                if (free >= bytes)
                {
                    break;
                }

                victims.Add(idle);
                free += idle.Bytes;
            }

            if (free < bytes)
            {
                var busy = _models.Values.Where(m => !victims.Contains(m)).Select(m => m.Name);
                refusal = $"{need}; node '{NodeId}' has {ModelMemory.Format(free)} of its {ModelMemory.Format(BudgetBytes)} budget free "
                    + $"and cannot unload {string.Join(", ", busy)}: {(allowUnload ? "in use" : "preloading unloads nothing")}.";
                return null;
            }
        }

        _unloads.RemoveAll(t => t.IsCompleted);
        foreach (var victim in victims)
        {
            // Idle, so its engine's counters are final.
            _models.Remove(victim.Name);
            var final = victim.Engine!.Statistics.Snapshot();
            (_retiredTokens, _retiredSteps, _retiredBatched) =
                (_retiredTokens + final.TokensGenerated, _retiredSteps + final.DecodeSteps, _retiredBatched + final.BatchedSequences);
            LogUnloading(_logger, NodeId, victim.Name, model.Name);
            _unloads.Add(Task.Run(() => UnloadAsync(victim)));
        }

        var entry = new NodeModel(model, bytes);
        _models[model.Name] = entry;
        var unloadsFirst = Task.WhenAll(_unloads);
        _ = Task.Run(() => LoadAsync(entry, unloadsFirst));
        return entry;
    }

    /// <summary>Loads on a thread-pool thread once the unloads making room are done; never throws (faults <see cref="NodeModel.Ready"/>).</summary>
    private async Task LoadAsync(NodeModel entry, Task unloadsFirst)
    {
        try
        {
            await unloadsFirst.ConfigureAwait(false);
            var started = _stopped ? throw new InvalidOperationException($"Node '{NodeId}' is stopping.") : _load(entry.Catalog);
            bool stopped;
            lock (_lock)
            {
                stopped = _stopped;
                if (!stopped)
                {
                    entry.SetLoaded(started.Decoder, started.Engine);
                    (_provider, _fallbackReason) = (started.Decoder.Provider, started.Decoder.ProviderFallbackReason);
                    _loads++;
                }
            }

            if (stopped)
            {
                await started.Engine.DisposeAsync().ConfigureAwait(false);
                started.Decoder.Dispose();
                throw new InvalidOperationException($"Node '{NodeId}' is stopping.");
            }

            LogLoaded(_logger, NodeId, entry.Name, started.Decoder.Provider, ModelMemory.Format(entry.Bytes));
            entry.SetReady();
        }
        catch (Exception e)
        {
            lock (_lock)
            {
                if (_models.TryGetValue(entry.Name, out var current) && current == entry)
                {
                    _models.Remove(entry.Name);
                }
            }

            LogLoadFailed(_logger, e, NodeId, entry.Name);
            entry.SetFailed(e);
        }
    }

    /// <summary>Stops an idle model's engine (nothing is left to finish) and closes its session; never throws.</summary>
    private async Task UnloadAsync(NodeModel model)
    {
        try
        {
            await model.Engine!.StopAsync(drain: true).ConfigureAwait(false);
            await model.Engine.DisposeAsync().ConfigureAwait(false);
            model.Decoder!.Dispose();
            LogUnloaded(_logger, NodeId, model.Name, ModelMemory.Format(model.Bytes));
        }
        catch (Exception e)
        {
            LogUnloadFailed(_logger, e, NodeId, model.Name);
        }
    }
}
