using Microsoft.ML.OnnxRuntime;

namespace TokenGrid.Inference.Engine;

public sealed partial class InferenceEngine
{
    private void RunLoop()
    {
        try
        {
            while (true)
            {
                if (_abort)
                {
                    FailEverything("The engine stopped before the sequence finished.");
                    break;
                }

                ReapCancelled();
                _prefill ??= StartPrefill();
                if (_prefill is not null)
                {
                    PrefillStep();
                }

                if (_prefill is { Done: true } || _active.Exists(s => s.Finished))
                {
                    Rebuild();
                }

                if (_active.Count > 0)
                {
                    DecodeStep();
                }

                int queued;
                lock (_queueLock)
                {
                    queued = _queue.Count;
                    if (queued == 0 && _stopping && _active.Count == 0 && _prefill is null)
                    {
                        break;
                    }
                }

                Statistics.SetOccupancy(_active.Count(s => !s.Finished) + (_prefill?.Rows.Count ?? 0), queued);
                if (_active.Count == 0 && _prefill is null && queued == 0)
                {
                    _signal.Wait();
                }
            }
        }
        catch (Exception e)
        {
            LogLoopCrashed(e);
            FailEverything($"The engine failed: {e.Message}");
        }
        finally
        {
            Statistics.SetOccupancy(0, 0);
            _exited.TrySetResult();
            LogStopped(_model.Name);
        }
    }

    private void ReapCancelled()
    {
        var now = _time.GetTimestamp();
        foreach (var s in _active.Concat(_prefill?.Rows ?? []))
        {
            if (s.CancelRequested && !s.Finished)
            {
                Complete(s, FinishReason.Cancelled, null, now);
            }
        }
    }

    /// <summary>Takes queued sequences that fit in free slots, as one group whose padded size fits a prefill chunk.</summary>
    private PrefillGroup? StartPrefill()
    {
        var free = _options.MaxBatchSize - _active.Count(s => !s.Finished);
        var rows = new List<Sequence>();
        var width = 0;
        lock (_queueLock)
        {
            while (free > rows.Count && _queue.First is { } first)
            {
                var next = first.Value;
                var newWidth = Math.Max(width, next.Prompt.Length);
                if (rows.Count > 0 && (rows.Count + 1) * newWidth > _options.PrefillChunkTokens)
                {
                    break;
                }

                _queue.RemoveFirst();
                next.QueueNode = null;
                rows.Add(next);
                width = newWidth;
            }
        }

        return rows.Count == 0 ? null : new PrefillGroup(_runner, rows, _options.PrefillChunkTokens, _model.Config.PadTokenId);
    }

    private void PrefillStep()
    {
        var group = _prefill!;
        var started = _time.GetTimestamp();
        try
        {
            var tokens = group.RunChunk((s, logits) =>
            {
                if (!s.Finished)
                {
                    s.KvLength = s.Prompt.Length;
                    BatchSampler.SampleRow(s, logits, _sampler.DecodeThreadScratch);
                    Accept(s, _time.GetTimestamp());
                }
            });
            Statistics.OnPrefill(tokens, _time.GetElapsedTime(started));
        }
        catch (OnnxRuntimeException e)
        {
            LogRunFailed("prefill", group.Rows.Count, e);
            var now = _time.GetTimestamp();
            foreach (var s in group.Rows)
            {
                Complete(s, FinishReason.Failed, $"The model run failed: {e.Message}", now);
            }

            group.Dispose();
            _prefill = null;
        }
    }

    /// <summary>Drops finished rows and appends a finished prefill group's survivors, in one re-layout of the cache.</summary>
    private void Rebuild()
    {
        var rows = new List<RowSource>(_active.Count + (_prefill?.Rows.Count ?? 0));
        var next = new List<Sequence>(rows.Capacity);
        for (var i = 0; i < _active.Count; i++)
        {
            if (!_active[i].Finished)
            {
                rows.Add(new RowSource(false, i, _active[i].KvLength));
                next.Add(_active[i]);
            }
        }

        var group = _prefill is { Done: true } ? _prefill : null;
        if (group is not null)
        {
            for (var g = 0; g < group.Rows.Count; g++)
            {
                if (!group.Rows[g].Finished)
                {
                    rows.Add(new RowSource(true, g, group.Rows[g].KvLength));
                    next.Add(group.Rows[g]);
                }
            }
        }

        _runner.Cache.Relayout(rows, group?.Presents, group?.Rows.Count ?? 0, group?.Width ?? 0);
        _active = next;
        if (group is not null)
        {
            group.Dispose();
            _prefill = null;
        }
    }

    private void DecodeStep()
    {
        var batch = _active.Count;
        var length = _runner.Cache.Length;
        _runner.Prepare(batch, 1, length + 1);
        for (var r = 0; r < batch; r++)
        {
            var s = _active[r];
            var pad = length - s.KvLength;
            _runner.Ids.Set(r, s.LastToken);
            _runner.Positions.Set(r, s.KvLength);
            var mask = r * (length + 1);
            for (var c = 0; c <= length; c++)
            {
                _runner.Mask.Set(mask + c, c < pad ? 0 : 1);
            }
        }

        var started = _time.GetTimestamp();
        try
        {
            _runner.RunDecode();
        }
        catch (OnnxRuntimeException e)
        {
            // The cache is in an unknown state: fail the batch and start over empty.
            LogRunFailed("decode", batch, e);
            var failedAt = _time.GetTimestamp();
            foreach (var s in _active)
            {
                Complete(s, FinishReason.Failed, $"The model run failed: {e.Message}", failedAt);
            }

            _runner.Cache.Relayout([], null, 0, 0);
            _active.Clear();
            return;
        }

        Statistics.OnDecodeStep(batch, _time.GetElapsedTime(started));
        _sampler.SampleStep(_runner, _active, _rowsAreShared);
        var now = _time.GetTimestamp();
        for (var r = 0; r < batch; r++)
        {
            var s = _active[r];
            s.KvLength++;
            Accept(s, now);
        }
    }

    private void Accept(Sequence s, long now)
    {
        s.Accept(s.PendingToken, s.PendingLogprobs, now);
        Statistics.OnTokens(1);
        if (s.Finished)
        {
            Statistics.OnCompleted();
        }
    }

    private void Complete(Sequence s, FinishReason reason, string? error, long now)
    {
        s.Finish(reason, error, now);
        Statistics.OnCompleted();
    }

    private void FailEverything(string error)
    {
        var now = _time.GetTimestamp();
        List<Sequence> queued;
        lock (_queueLock)
        {
            _stopping = true;
            queued = [.. _queue];
            _queue.Clear();
        }

        foreach (var s in _active.Concat(_prefill?.Rows ?? []).Concat(queued).Where(s => !s.Finished))
        {
            Complete(s, FinishReason.Failed, error, now);
        }

        _prefill?.Dispose();
        _prefill = null;
        _active.Clear();
    }
}
