using Microsoft.ML.OnnxRuntime;
using TokenGrid.Inference.Runtime;

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
                    _workedSinceIdle = true;
                    PrefillStep();
                }

                if (_prefill is { Done: true } || _active.Exists(s => s.Finished) || _joining.Count > 0)
                {
                    Rebuild();
                }

                if (_active.Count > 0)
                {
                    DecodeStep();
                }
                else
                {
                    Statistics.OnNoDecodeStep();
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

                Statistics.SetOccupancy(_active.Count(s => !s.Finished) + (_prefill?.All.Count() ?? 0), queued);
                if (_active.Count == 0 && _prefill is null && queued == 0)
                {
                    ReleaseIdleMemory();
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
            Statistics.OnNoDecodeStep();
            _exited.TrySetResult();
            LogStopped(_model.Name);
        }
    }

    /// <summary>
    /// Once per stretch of work, as the engine falls idle: its batch cache is already freed (an empty re-layout), and the
    /// C heap is trimmed, so that the memory the work freed there goes back to the system rather than stay with the
    /// process (<see cref="NativeHeap"/>).
    /// </summary>
    private void ReleaseIdleMemory()
    {
        if (!_workedSinceIdle)
        {
            return;
        }

        _workedSinceIdle = false;
        if (NativeHeap.TryTrim())
        {
            Statistics.OnHeapTrimmed();
        }

        Idled?.Invoke();
    }

    private void ReapCancelled()
    {
        var now = _time.GetTimestamp();
        foreach (var s in _active.Concat(_prefill?.All ?? []).Concat(_joining))
        {
            if (s.CancelRequested && !s.Finished)
            {
                Complete(s, FinishReason.Cancelled, null, now);
            }
        }
    }

    /// <summary>
    /// Takes queued sequences that fit in free slots, as one group whose padded size fits a prefill chunk. A sequence
    /// with a fork key whose sibling (same key, same prompt) is running, or is a row of this group, is not prefilled: it
    /// joins by copying the sibling's prompt rows (<see cref="GenerationRequest.ForkKey"/>).
    /// </summary>
    private PrefillGroup? StartPrefill()
    {
        var free = _options.MaxBatchSize - _active.Count(s => !s.Finished);
        var rows = new List<Sequence>();
        var followers = new List<(Sequence, int)>();
        var width = 0;

        // The batch's key/value cache at the lengths its rows may reach, counted once something waits: a sequence that
        // would take it past the budget waits, and so does everything behind it (a long prompt is not starved by short ones).
        var (kvRows, kvLongest) = (-1, 0);
        lock (_queueLock)
        {
            while (free > rows.Count + followers.Count + _joining.Count && _queue.First is { } first)
            {
                var next = first.Value;
                if (kvRows < 0)
                {
                    (kvRows, kvLongest) = RunningKvShape();
                }

                if (!_kvBudget.Admits(kvRows, kvLongest, next.KvReach))
                {
                    break;
                }

                (kvRows, kvLongest) = (kvRows + 1, Math.Max(kvLongest, next.KvReach));
                if (next.ForkKey is not null && ForkSource(next, rows) is var (running, row) && (running is not null || row >= 0))
                {
                    _queue.RemoveFirst();
                    next.QueueNode = null;
                    next.Ending = Statistics.OnSequenceEnded;
                    if (running is not null)
                    {
                        next.ForkedFrom = running;
                        _joining.Add(next);
                    }
                    else
                    {
                        followers.Add((next, row));
                    }

                    continue;
                }

                var cached = CachedPrefix(next);
                var newWidth = Math.Max(width, next.Prompt.Length - cached);
                if (rows.Count > 0 && (rows.Count + 1) * newWidth > _options.PrefillChunkTokens)
                {
                    break;
                }

                _queue.RemoveFirst();
                next.QueueNode = null;
                next.Ending = Statistics.OnSequenceEnded;
                next.CachedTokens = cached;
                if (next.PrefixBlocks is not null)
                {
                    Statistics.OnPrefixLookup(cached);
                }

                rows.Add(next);
                width = newWidth;
            }
        }

        return rows.Count == 0 ? null : new PrefillGroup(_runner, rows, followers, _options.PrefillChunkTokens, _model.Config.PadTokenId, _prefixCache);
    }

    /// <summary>The running batch's rows (forks joining included) and the longest length any of them may reach.</summary>
    private (int Rows, int Longest) RunningKvShape()
    {
        var (rows, longest) = (0, 0);
        foreach (var s in _active)
        {
            if (!s.Finished)
            {
                (rows, longest) = (rows + 1, Math.Max(longest, s.KvReach));
            }
        }

        foreach (var s in _joining)
        {
            (rows, longest) = (rows + 1, Math.Max(longest, s.KvReach));
        }

        return (rows, longest);
    }

    /// <summary>
    /// Leading prompt positions of <paramref name="next"/> the prefix cache holds, in whole blocks, leaving at least the
    /// last prompt position to compute (its logits give the first token).
    /// </summary>
    private int CachedPrefix(Sequence next)
    {
        if (_prefixCache is null || next.PrefixBlocks is not { } blocks)
        {
            return 0;
        }

        var block = _prefixCache.BlockTokens;
        return _prefixCache.Match(blocks, (next.Prompt.Length - 1) / block) * block;
    }

    /// <summary>
    /// Where <paramref name="next"/> can fork from: a sibling in the running batch whose prompt is in the cache (any state:
    /// its rows stay valid until the next re-layout, which is where the copy happens), else a row of the group being
    /// formed, else nowhere (null, -1).
    /// </summary>
    private (Sequence? Running, int Row) ForkSource(Sequence next, List<Sequence> rows)
    {
        foreach (var s in _active)
        {
            if (s.PromptLogits is not null && s.SharesPromptWith(next))
            {
                return (s, -1);
            }
        }

        return (null, rows.FindIndex(r => r.SharesPromptWith(next)));
    }

    private void PrefillStep()
    {
        var group = _prefill!;
        var started = _time.GetTimestamp();
        try
        {
            var tokens = group.RunChunk((s, forkedFrom, logits) =>
            {
                if (!s.Finished)
                {
                    s.KvLength = s.Prompt.Length;
                    if (s.ForkKey is not null)
                    {
                        // Siblings share one copy; later forks from the running batch sample their first token from it.
                        s.PromptLogits = forkedFrom?.PromptLogits ?? logits.ToArray();
                    }

                    if (forkedFrom is not null)
                    {
                        // The shared prompt was computed once, with the row's prefix cache hits: every choice reports them.
                        Statistics.OnForked();
                        s.Stream.MarkPromptShared();
                        s.Stream.MarkCached(forkedFrom.Stream.CachedPromptTokens);
                    }

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
            foreach (var s in group.All)
            {
                Complete(s, FinishReason.Failed, $"The model run failed: {e.Message}", now);
            }

            group.Dispose();
            _prefill = null;
        }
    }

    /// <summary>
    /// Drops finished rows and appends a finished prefill group's survivors (forked followers copying their row) and
    /// the sequences forking from running siblings, in one re-layout of the cache.
    /// </summary>
    private void Rebuild()
    {
        var rows = new List<RowSource>(_active.Count + (_prefill?.Rows.Count ?? 0) + _joining.Count);
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
            if (_prefixCache is not null)
            {
                group.CacheBlocks(_prefixCache);
            }

            for (var g = 0; g < group.Rows.Count; g++)
            {
                if (!group.Rows[g].Finished)
                {
                    rows.Add(group.Source(g, group.Rows[g].KvLength));
                    next.Add(group.Rows[g]);
                }
            }

            foreach (var (follower, g) in group.Followers)
            {
                if (!follower.Finished)
                {
                    rows.Add(group.Source(g, follower.KvLength));
                    next.Add(follower);
                }
            }
        }

        JoinForks(rows, next);

        // Rows of similar length share a lane; the batch's order becomes the lanes' (see DecodeLanes).
        var plan = DecodeLanes.Split([.. rows.Select(r => r.Length)], _options.MaxDecodeLanes, _laneSplitPositions);
        _runner.Cache.Relayout([.. plan.Order.Select(i => rows[i])], plan.Sizes, group?.Presents, group?.Rows.Count ?? 0, group?.Width ?? 0);
        _active = [.. plan.Order.Select(i => next[i])];
        if (group is not null)
        {
            group.Dispose();
            _prefill = null;
        }
    }

    /// <summary>
    /// Sequences forking from a running sibling: each samples its first token from the sibling's prompt logits and takes
    /// a copy of the first prompt-length real positions of the sibling's row.
    /// </summary>
    private void JoinForks(List<RowSource> rows, List<Sequence> next)
    {
        var now = _time.GetTimestamp();
        foreach (var s in _joining)
        {
            var sibling = s.ForkedFrom!;
            s.ForkedFrom = null;
            if (s.Finished)
            {
                continue;
            }

            var row = _active.IndexOf(sibling);
            if (row < 0)
            {
                // Cannot happen (the batch does not change between taking the fork and this merge); prefill it instead.
                lock (_queueLock)
                {
                    s.Ending = null;
                    s.QueueNode = _queue.AddFirst(s);
                }

                continue;
            }

            s.KvLength = s.Prompt.Length;
            s.PromptLogits = sibling.PromptLogits;
            s.Stream.MarkCached(sibling.Stream.CachedPromptTokens);
            BatchSampler.SampleRow(s, s.PromptLogits, _sampler.DecodeThreadScratch);
            Statistics.OnForked();
            s.Stream.MarkPromptShared();
            Accept(s, now);
            if (!s.Finished)
            {
                rows.Add(new RowSource(false, row, s.KvLength, sibling.KvLength - s.KvLength));
                next.Add(s);
            }
        }

        _joining.Clear();
    }

    private void DecodeStep()
    {
        var batch = _active.Count;
        var runs = _runner.Cache.Lanes.Count;
        var started = _time.GetTimestamp();
        try
        {
            _runner.RunDecode(_fillLane);
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

        Statistics.OnDecodeStep(batch, runs, _time.GetElapsedTime(started));
        _sampler.SampleStep(_runner, _active, _rowsAreShared);
        var now = _time.GetTimestamp();
        var finished = false;
        for (var r = 0; r < batch; r++)
        {
            var s = _active[r];
            s.KvLength++;
            Accept(s, now);
            finished |= s.Finished;
        }

        if (finished)
        {
            // Before the loop takes the next prefill: a conversation's next turn, sent when this one ends, finds its reply.
            CacheFinished();
        }
    }

    /// <summary>Sets the inputs of a decode run of lane <paramref name="lane"/>, whose rows start at <paramref name="first"/> in the batch.</summary>
    private void FillLane(int lane, int first)
    {
        var (rows, length) = _runner.Cache.Lanes[lane];
        _runner.Prepare(rows, 1, length + 1);
        for (var r = 0; r < rows; r++)
        {
            var s = _active[first + r];
            var pad = length - s.KvLength;
            _runner.Ids.Set(r, s.LastToken);
            _runner.Positions.Set(r, s.KvLength);
            var mask = r * (length + 1);
            for (var c = 0; c <= length; c++)
            {
                _runner.Mask.Set(mask + c, c < pad ? 0 : 1);
            }
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

        foreach (var s in _active.Concat(_prefill?.All ?? []).Concat(_joining).Concat(queued).Where(s => !s.Finished))
        {
            Complete(s, FinishReason.Failed, error, now);
        }

        _joining.Clear();

        _prefill?.Dispose();
        _prefill = null;
        _active.Clear();
    }
}
