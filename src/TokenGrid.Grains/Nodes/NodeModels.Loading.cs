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
        var fit = model.Fit(BudgetBytes, MaxBatchSize, PrefixCache.Tokens, PrefixCache.BlockTokens, KvCacheLimitBytes);
        var bytes = fit?.Bytes ?? 0;
        var victims = new List<NodeModel>();
        if (BudgetBytes > 0)
        {
            var prefix = model.PrefixCacheBytes(PrefixCache.Tokens, PrefixCache.BlockTokens);
            if (fit is null)
            {
                var least = model.WeightBytes + prefix + (ModelMemory.KvCopies * model.KvBytesPerSequence);
                refusal = $"Model '{model.Name}' needs about {ModelMemory.Format(least)} (weights {ModelMemory.Format(model.WeightBytes)}, the "
                    + $"key/value cache of one sequence at {model.ContextLength} tokens"
                    + (prefix > 0 ? $" and a prefix cache of {ModelMemory.Format(prefix)})" : ")")
                    + $", more than node '{NodeId}''s whole memory budget of {ModelMemory.Format(BudgetBytes)}.";
                return null;
            }

            var need = $"Model '{model.Name}' needs about {ModelMemory.Format(bytes)} (weights {ModelMemory.Format(model.WeightBytes)}, a "
                + $"key/value cache of {ModelMemory.Format(fit.KvCacheBytes)}"
                + (prefix > 0 ? $" and a prefix cache of {ModelMemory.Format(prefix)})" : ")");

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

        var entry = new NodeModel(model, bytes, fit!.KvCacheBytes);
        if (fit.Reduced)
        {
            LogKvCacheReduced(_logger, NodeId, model.Name, ModelMemory.Format(fit.KvCacheBytes), MaxBatchSize, model.ContextLength, ModelMemory.Format(BudgetBytes));
        }

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
            var started = _stopped ? throw new InvalidOperationException($"Node '{NodeId}' is stopping.") : _load(entry.Catalog, entry.KvCacheBytes);
            bool stopped, recovered = false;
            lock (_lock)
            {
                stopped = _stopped;
                if (!stopped)
                {
                    recovered = _failed.Remove(entry.Name);
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
            if (recovered)
            {
                LogLoadRecovered(_logger, NodeId, entry.Name);
            }

            entry.SetReady();
        }
        catch (Exception e)
        {
            int attempts = 0;
            lock (_lock)
            {
                if (_models.TryGetValue(entry.Name, out var current) && current == entry)
                {
                    _models.Remove(entry.Name);
                }

                // A node that stops serving a model it cannot load: dispatchers place nothing more on it for that model,
                // and the capacity view does not count it, until a load succeeds (a retry, see RetryFailed).
                if (!_stopped)
                {
                    attempts = (_failed.GetValueOrDefault(entry.Name)?.Attempts ?? 0) + 1;
                    _failed[entry.Name] = new FailedLoad(e.Message, _time.GetUtcNow(), attempts);
                }
            }

            LogLoadFailed(_logger, e, NodeId, entry.Name, attempts);
            entry.SetFailed(e);
        }
    }

    /// <summary>
    /// Loads again, in the background, each model whose latest load failed at least <paramref name="after"/> ago, when it
    /// fits the budget without unloading another; the node advertises it again once the load succeeds. A model that does
    /// not fit next to the ones loaded now is advertised again at once: a job's load may unload idle models to make room,
    /// and fails (and stops the advertising) again if the files are still broken. Never throws.
    /// </summary>
    public void RetryFailed(TimeSpan after)
    {
        lock (_lock)
        {
            var now = _time.GetUtcNow();
            foreach (var (name, failed) in _failed.ToList())
            {
                if (_stopped || now - failed.At < after || _models.ContainsKey(name))
                {
                    continue;
                }

                if (Plan(_served[name], allowUnload: false, out _) is null)
                {
                    _failed.Remove(name);
                }
            }
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
