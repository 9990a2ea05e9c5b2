using Orleans.Serialization;
using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.Tenants;

namespace TokenGrid.Grains.Tests.Tenants;

/// <summary>
/// The silo's tenant store in the tenant tests: a real <see cref="InMemoryTenantStore"/> whose saves (and, when asked,
/// loads) fail for the tenants a test names, whose next save can be held until the test lets it finish, and which
/// records what each save tried to reserve and how it ended.
/// </summary>
public sealed class FlakyTenantStore(DeepCopier copier, InMemoryTenantStore inner) : ITenantStore
{
    private readonly Dictionary<string, bool> _failing = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SaveHold> _holds = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<SaveAttempt>> _attempts = new(StringComparer.Ordinal);
    private readonly List<(string TenantId, string JobId, TaskCompletionSource Stored)> _awaitedReserves = [];

    /// <summary>How a save ended.</summary>
    public enum SaveOutcome
    {
        /// <summary>Stored.</summary>
        Saved,

        /// <summary>Refused by the store: a reserve line named a job id the ledger already reserved for.</summary>
        Refused,

        /// <summary>Failed with an <see cref="IOException"/> (<see cref="SetFailing"/>).</summary>
        Failed,
    }

    /// <summary>Makes saves (and, with <paramref name="loadsToo"/>, loads) for <paramref name="tenantId"/> fail, or work again.</summary>
    public void SetFailing(string tenantId, bool failing, bool loadsToo = false)
    {
        lock (_failing)
        {
            if (failing)
            {
                _failing[tenantId] = loadsToo;
            }
            else
            {
                _failing.Remove(tenantId);
            }
        }
    }

    /// <summary>
    /// Holds the next save of <paramref name="tenantId"/>: it reports when it starts and ends only once released (then
    /// it fails if the tenant is failing by that time, and is stored otherwise). While it is held, the grain's new
    /// changes queue up behind it.
    /// </summary>
    public SaveHold HoldNextSave(string tenantId)
    {
        var hold = new SaveHold();
        lock (_holds)
        {
            _holds.Add(tenantId, hold);
        }

        return hold;
    }

    /// <summary>Every save of <paramref name="tenantId"/> so far: the job ids its lines reserved for, and its outcome.</summary>
    public IReadOnlyList<SaveAttempt> SavesOf(string tenantId)
    {
        lock (_attempts)
        {
            return _attempts.TryGetValue(tenantId, out var attempts) ? [.. attempts] : [];
        }
    }

    /// <summary>
    /// Completes once a save of <paramref name="tenantId"/> reserving for <paramref name="jobId"/> is stored. The grain
    /// has then not yet answered that admission: it does so in the same turn, which runs on before anything the test
    /// does next can reach the grain.
    /// </summary>
    public Task ReserveStoredAsync(string tenantId, string jobId)
    {
        var stored = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_attempts)
        {
            _awaitedReserves.Add((tenantId, jobId, stored));
        }

        return stored.Task;
    }

    /// <inheritdoc/>
    public Task<StoredTenant?> LoadAsync(string tenantId, CancellationToken cancellationToken = default)
    {
        lock (_failing)
        {
            if (_failing.TryGetValue(tenantId, out var loadsToo) && loadsToo)
            {
                throw new IOException("The tenant store cannot load.");
            }
        }

        return inner.LoadAsync(tenantId, cancellationToken);
    }

    /// <inheritdoc/>
    public Task<IReadOnlyDictionary<string, long>> VersionsAsync(CancellationToken cancellationToken = default) =>
        inner.VersionsAsync(cancellationToken);

    /// <inheritdoc/>
    public async Task<TenantSaveResult> SaveAsync(TenantSave save, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(save);
        SaveHold? hold;
        lock (_holds)
        {
            _holds.Remove(save.TenantId, out hold);
        }

        // A store reads the state before its first await: the grain may change it once the save is under way.
        if (hold is not null)
        {
            save = save with { State = copier.Copy(save.State) };
            hold.OnEntered();
            await hold.Released;
        }

        var reserves = save.Lines.Where(l => l.Kind == LedgerEntryKind.Reserve).Select(l => l.JobId).ToList();
        bool failing;
        lock (_failing)
        {
            failing = _failing.ContainsKey(save.TenantId);
        }

        if (failing)
        {
            Record(save.TenantId, new SaveAttempt(reserves, SaveOutcome.Failed));
            throw new IOException("The tenant store cannot save.");
        }

        var result = await inner.SaveAsync(save, cancellationToken);
        Record(save.TenantId, new SaveAttempt(reserves, result.Saved ? SaveOutcome.Saved : SaveOutcome.Refused));
        return result;
    }

    private void Record(string tenantId, SaveAttempt attempt)
    {
        lock (_attempts)
        {
            if (!_attempts.TryGetValue(tenantId, out var attempts))
            {
                _attempts[tenantId] = attempts = [];
            }

            attempts.Add(attempt);
            if (attempt.Outcome == SaveOutcome.Saved)
            {
                foreach (var awaited in _awaitedReserves.Where(a => a.TenantId == tenantId && attempt.Reserves.Contains(a.JobId)).ToList())
                {
                    _awaitedReserves.Remove(awaited);
                    awaited.Stored.SetResult();
                }
            }
        }
    }

    /// <summary>One save: the job ids its lines reserved for, in order, and how it ended.</summary>
    public sealed record SaveAttempt(IReadOnlyList<string> Reserves, SaveOutcome Outcome);

    /// <summary>A save held by <see cref="HoldNextSave"/>.</summary>
    public sealed class SaveHold
    {
        private readonly TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Completes when the held save has started.</summary>
        public Task Entered => _entered.Task;

        internal Task Released => _released.Task;

        /// <summary>Lets the held save go on.</summary>
        public void Release() => _released.TrySetResult();

        internal void OnEntered() => _entered.TrySetResult();
    }
}
