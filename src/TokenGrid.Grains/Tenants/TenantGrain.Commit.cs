using System.Diagnostics;
using TokenGrid.Grains.Storage;

namespace TokenGrid.Grains.Tenants;

/// <summary>
/// Group commit. Every change to the tenant's state is a synchronous step queued with <see cref="ApplyAsync{T}"/>. One
/// loop takes the steps queued so far, applies them in arrival order (each sees the state the previous one left, so
/// budgets are decided exactly as one at a time), saves the state once with the batch's ledger lines and job ids (one
/// <see cref="ITenantStore.SaveAsync"/>, all or nothing), and only then answers every step of the batch. While a save
/// is in flight new steps wait in the queue, so the state is never changed under a write.
/// </summary>
/// <remarks>
/// <para>
/// Admissions and settlements interleave (<c>[AlwaysInterleave]</c>), which is what lets a batch gather: under load a
/// batch holds as many steps as arrived during the previous save, one write instead of one each. An answer is never
/// given before the state holding it is saved; a crash before the save loses only unanswered steps.
/// </para>
/// <para>
/// When a save fails, every step of the batch and every step queued behind it fails with
/// <see cref="StorageUnavailableException"/> (their callers may retry), later calls fail fast, and the activation
/// deactivates so the next one starts over from the saved state: memory never runs ahead of storage.
/// </para>
/// <para>
/// When the store refuses a batch because it reserves for a job id the ledger already reserved for (a job settled so
/// long ago that the state's window no longer holds it), nothing was saved: the grain reloads the saved state and
/// applies the same steps again, this time refusing those job ids with <see cref="JobAlreadySettledException"/>.
/// </para>
/// </remarks>
public sealed partial class TenantGrain
{
    private readonly Queue<IStateStep> _steps = new();

    /// <summary>Job ids seen for the first time by the steps applied since the last save, in arrival order.</summary>
    private readonly List<string> _unsavedJobIds = [];

    /// <summary>Job ids the store refused to reserve for again in this activation.</summary>
    private readonly HashSet<string> _settledLongAgo = new(StringComparer.Ordinal);

    /// <summary>The version of the saved state this activation's state continues.</summary>
    private long _version;
    private bool _committing;
    private string? _saveFailure;

    /// <summary>Queues <paramref name="step"/>, applies it in order with the others, and returns its result once saved.</summary>
    private Task<T> ApplyAsync<T>(Func<T> step)
    {
        if (_saveFailure is { } failure)
        {
            return Task.FromException<T>(Unavailable(failure));
        }

        var queued = new StateStep<T>(step);
        _steps.Enqueue(queued);
        if (!_committing)
        {
            _committing = true;
            _ = CommitLoopAsync();
        }

        return queued.Result;
    }

    /// <summary>Queues a step with no result.</summary>
    private Task ApplyAsync(Action step) => ApplyAsync(() =>
    {
        step();
        return true;
    });

    /// <summary>Starts from the saved state (a new state when the tenant was never saved).</summary>
    private async Task LoadAsync(CancellationToken cancellationToken = default)
    {
        var stored = await store.LoadAsync(TenantId, cancellationToken);
        State = stored?.State ?? new TenantState();
        _version = stored?.Version ?? 0;
    }

    /// <summary>Applies, saves and answers batch after batch until nothing is queued.</summary>
    private async Task CommitLoopAsync()
    {
        try
        {
            while (_steps.Count > 0)
            {
                var batch = new List<IStateStep>(_steps.Count);
                while (_steps.TryDequeue(out var step))
                {
                    step.Apply();
                    batch.Add(step);
                }

                TenantSaveResult saved;
                var started = Stopwatch.GetTimestamp();
                try
                {
                    saved = await store.SaveAsync(new TenantSave(TenantId, State, _version, TakeUnsaved(State.UnsavedLines), TakeUnsaved(_unsavedJobIds)));
                }
                catch (Exception e)
                {
                    instruments.OnTenantSave(Stopwatch.GetElapsedTime(started), batch.Count, "failed");
                    FailAll(batch, e);
                    return;
                }

                instruments.OnTenantSave(Stopwatch.GetElapsedTime(started), batch.Count, saved.Saved ? "saved" : "refused");
                if (!saved.Saved)
                {
                    try
                    {
                        await ApplyAgainAsync(batch, saved.AlreadyReserved);
                    }
                    catch (Exception e)
                    {
                        FailAll(batch, e);
                        return;
                    }

                    continue;
                }

                _version = saved.Version;
                instruments.OnTenantBudget(TenantId, State.Info?.Budget.PeriodQuota ?? 0, State.Charged, State.Reserved);
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

    /// <summary>
    /// After the store refused <paramref name="batch"/> for reserving again for <paramref name="jobIds"/>: starts over
    /// from the saved state and queues the batch's steps first, to be applied again with those job ids refused.
    /// </summary>
    private async Task ApplyAgainAsync(List<IStateStep> batch, IReadOnlyList<string> jobIds)
    {
        LogReserveRefused(logger, TenantId, string.Join(", ", jobIds));
        _settledLongAgo.UnionWith(jobIds);
        await LoadAsync();
        var behind = _steps.ToList();
        _steps.Clear();
        foreach (var step in batch.Concat(behind))
        {
            _steps.Enqueue(step);
        }
    }

    private static List<T> TakeUnsaved<T>(List<T> unsaved)
    {
        var taken = unsaved.ToList();
        unsaved.Clear();
        return taken;
    }

    /// <summary>Fails the batch and everything queued behind it, refuses new steps, and starts over from storage.</summary>
    private void FailAll(List<IStateStep> batch, Exception e)
    {
        _saveFailure = e.Message;
        LogSaveFailed(logger, e, TenantId, batch.Count + _steps.Count);
        var unavailable = Unavailable(e.Message);
        foreach (var step in batch.Concat(_steps))
        {
            step.Fail(unavailable);
        }

        _steps.Clear();
        DeactivateOnIdle();
    }

    private StorageUnavailableException Unavailable(string cause) =>
        new($"Tenant '{TenantId}' could not save its state ({cause}); nothing was applied, retry shortly.");

    /// <summary>A queued change to the state.</summary>
    private interface IStateStep
    {
        /// <summary>Runs the change; an exception it throws becomes its caller's answer. May run again on a reloaded state.</summary>
        void Apply();

        /// <summary>Answers the caller: the state holding the change is saved.</summary>
        void Complete();

        /// <summary>Answers the caller with <paramref name="e"/>: the change was not saved.</summary>
        void Fail(Exception e);
    }

    private sealed class StateStep<T>(Func<T> step) : IStateStep
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
