using TokenGrid.Inference.Engine;

namespace TokenGrid.Grains.Nodes;

public sealed partial class NodeModels
{
    /// <summary>
    /// Loads the served models in configuration order while each fits the budget without unloading another; the
    /// rest load on first use. Failures are logged, not thrown: the model is then tried again on first use.
    /// </summary>
    public async Task PreloadAsync()
    {
        foreach (var name in Served)
        {
            NodeModel? entry;
            lock (_lock)
            {
                if (_stopped)
                {
                    return;
                }

                if (_models.ContainsKey(name))
                {
                    continue;
                }

                entry = Plan(_served[name], allowUnload: false, out var refusal);
                if (entry is null)
                {
                    LogPreloadSkipped(_logger, NodeId, name, refusal!);
                    continue;
                }
            }

            try
            {
                await entry.Ready.ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // Logged by the load; the model is tried again when a request needs it.
            }
        }
    }

    /// <summary>Stops taking work; the returned task completes when every loaded engine has finished what it accepted.</summary>
    public Task StopAsync()
    {
        InferenceEngine[] engines;
        lock (_lock)
        {
            _stopped = true;
            engines = [.. _models.Values.Select(m => m.Engine).OfType<InferenceEngine>()];
        }

        return Task.WhenAll(engines.Select(e => e.StopAsync(drain: true)));
    }

    /// <summary>Stops every engine at once (sequences still running end as failed) and closes the sessions.</summary>
    public async ValueTask DisposeAsync()
    {
        NodeModel[] models;
        Task[] unloads;
        lock (_lock)
        {
            _stopped = true;
            models = [.. _models.Values];
            unloads = [.. _unloads];
            _models.Clear();
        }

        foreach (var model in models)
        {
            try
            {
                // A load in flight sees the stop and closes its own session.
                await model.Ready.ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                continue;
            }

            await model.Engine!.DisposeAsync().ConfigureAwait(false);
            model.Decoder!.Dispose();
        }

        await Task.WhenAll(unloads).ConfigureAwait(false);
    }
}
