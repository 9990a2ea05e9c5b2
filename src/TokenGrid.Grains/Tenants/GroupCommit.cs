namespace TokenGrid.Grains.Tenants;

/// <summary>
/// Group commit. Every change is a synchronous step queued with <see cref="ApplyAsync{T}"/>. One loop takes the steps
/// queued so far, applies them in arrival order (each sees the state the previous one left, so decisions are made
/// exactly as one at a time), saves once for the whole batch, and only then answers every step of the batch. While a
/// save is in flight new steps wait in the queue, so the state is never changed under a write.
/// </summary>
/// <remarks>
/// <para>
/// The owner supplies the save. It returns true when the batch is saved; false when it refused the batch and has reset
/// the state to what was saved, so the batch's steps are queued first again and applied once more; an exception when
/// the save failed.
/// </para>
/// <para>
/// When a save fails, every step of the batch and every step queued behind it fails with the exception <c>unsaved</c>
/// makes of the save's (a retry-shortly one for an outage, another for an error a retry cannot fix), later steps fail
/// fast with it, and <c>failed</c> is told (the owner starts over from storage): memory never runs ahead of storage.
/// </para>
/// <para>Not thread-safe: meant for a grain, whose turns never run at once.</para>
/// </remarks>
internal sealed class GroupCommit(
    Func<int, Task<bool>> saveAsync,
    Func<Exception, Exception> unsaved,
    Action<Exception, int> failed)
{
    private readonly Queue<IStep> _steps = new();
    private bool _committing;
    private Exception? _failure;

    /// <summary>Queues <paramref name="step"/>, applies it in order with the others, and returns its result once saved.</summary>
    public Task<T> ApplyAsync<T>(Func<T> step)
    {
        if (_failure is { } failure)
        {
            return Task.FromException<T>(unsaved(failure));
        }

        var queued = new Step<T>(step);
        _steps.Enqueue(queued);
        if (!_committing)
        {
            _committing = true;
            _ = CommitLoopAsync();
        }

        return queued.Result;
    }

    /// <summary>Queues a step with no result.</summary>
    public Task ApplyAsync(Action step) => ApplyAsync(() =>
    {
        step();
        return true;
    });

    /// <summary>Applies, saves and answers batch after batch until nothing is queued.</summary>
    private async Task CommitLoopAsync()
    {
        try
        {
            while (_steps.Count > 0)
            {
                var batch = new List<IStep>(_steps.Count);
                while (_steps.TryDequeue(out var step))
                {
                    step.Apply();
                    batch.Add(step);
                }

                bool saved;
                try
                {
                    saved = await saveAsync(batch.Count);
                }
                catch (Exception e)
                {
                    FailAll(batch, e);
                    return;
                }

                if (!saved)
                {
                    // Applied again first, before what arrived during the save.
                    var behind = _steps.ToList();
                    _steps.Clear();
                    foreach (var step in batch.Concat(behind))
                    {
                        _steps.Enqueue(step);
                    }

                    continue;
                }

                foreach (var step in batch)
                {
                    step.Complete();
                }
            }
        }
        finally
        {
            _committing = false;
        }
    }

    /// <summary>Fails the batch and everything queued behind it, and refuses new steps.</summary>
    private void FailAll(List<IStep> batch, Exception e)
    {
        _failure = e;
        failed(e, batch.Count + _steps.Count);
        var error = unsaved(e);
        foreach (var step in batch.Concat(_steps))
        {
            step.Fail(error);
        }

        _steps.Clear();
    }

    /// <summary>A queued change.</summary>
    private interface IStep
    {
        /// <summary>Runs the change; an exception it throws becomes its caller's answer. May run again on a reset state.</summary>
        void Apply();

        /// <summary>Answers the caller: the state holding the change is saved.</summary>
        void Complete();

        /// <summary>Answers the caller with <paramref name="e"/>: the change was not saved.</summary>
        void Fail(Exception e);
    }

    private sealed class Step<T>(Func<T> step) : IStep
    {
        private readonly TaskCompletionSource<T> _result = new();
        private T? _value;
        private Exception? _error;

        public Task<T> Result => _result.Task;

        public void Apply()
        {
            try
            {
                _value = step();
                _error = null;
            }
            catch (Exception e)
            {
                _error = e;
            }
        }

        public void Complete()
        {
            if (_error is null)
            {
                _result.TrySetResult(_value!);
            }
            else
            {
                _result.TrySetException(_error);
            }
        }

        public void Fail(Exception e) => _result.TrySetException(e);
    }
}
