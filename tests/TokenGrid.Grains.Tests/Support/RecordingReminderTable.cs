using System.Collections.Concurrent;

namespace TokenGrid.Grains.Tests.Support;

/// <summary>
/// A reminder table in process memory under Orleans' real reminder service, which counts the registrations it is asked
/// to write and can hold the next removal until a test releases it.
/// </summary>
public sealed class RecordingReminderTable : IReminderTable
{
    private readonly ConcurrentDictionary<(GrainId Grain, string Name), ReminderEntry> _rows = new();
    private readonly Lock _gate = new();
    private int _upserts;
    private (TaskCompletionSource Entered, TaskCompletionSource Released)? _heldUpsert;
    private (TaskCompletionSource Entered, TaskCompletionSource Released)? _heldRemoval;

    /// <summary>How many registrations (inserts or updates) were asked for.</summary>
    public int Upserts => Volatile.Read(ref _upserts);

    /// <summary>Whether <paramref name="grain"/> has a reminder named <paramref name="name"/>.</summary>
    public bool Has(GrainId grain, string name) => _rows.ContainsKey((grain, name));

    /// <summary>Holds the next registration: <c>Entered</c> completes when it starts, and it ends once <c>Release</c> is called.</summary>
    public (Task Entered, Action Release) HoldNextUpsert() => Hold(ref _heldUpsert);

    /// <summary>Holds the next removal: <c>Entered</c> completes when it starts, and it ends once <c>Release</c> is called.</summary>
    public (Task Entered, Action Release) HoldNextRemoval() => Hold(ref _heldRemoval);

    public Task<ReminderTableData> ReadRows(GrainId grainId) =>
        Task.FromResult(new ReminderTableData(_rows.Values.Where(row => row.GrainId == grainId)));

    public Task<ReminderTableData> ReadRows(uint begin, uint end) =>
        Task.FromResult(new ReminderTableData(_rows.Values.Where(row => InRange(row.GrainId.GetUniformHashCode(), begin, end))));

    public Task<ReminderEntry?> ReadRow(GrainId grainId, string reminderName) =>
        Task.FromResult(_rows.TryGetValue((grainId, reminderName), out var row) ? row : null);

    public async Task<string?> UpsertRow(ReminderEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        Interlocked.Increment(ref _upserts);
        await PassAsync(ref _heldUpsert);
        entry.ETag = Guid.NewGuid().ToString("N");
        _rows[(entry.GrainId, entry.ReminderName)] = entry;
        return entry.ETag;
    }

    public async Task<bool> RemoveRow(GrainId grainId, string reminderName, string eTag)
    {
        await PassAsync(ref _heldRemoval);
        return _rows.TryGetValue((grainId, reminderName), out var row) && row.ETag == eTag && _rows.TryRemove(new((grainId, reminderName), row));
    }

    public Task TestOnlyClearTable()
    {
        _rows.Clear();
        return Task.CompletedTask;
    }

    private (Task Entered, Action Release) Hold(ref (TaskCompletionSource Entered, TaskCompletionSource Released)? slot)
    {
        var hold = (Entered: new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously),
            Released: new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        lock (_gate)
        {
            slot = hold;
        }

        return (hold.Entered.Task, hold.Released.SetResult);
    }

    /// <summary>Waits for the release when a hold is set on this kind of write (and takes the hold).</summary>
    private Task PassAsync(ref (TaskCompletionSource Entered, TaskCompletionSource Released)? slot)
    {
        lock (_gate)
        {
            if (slot is not { } hold)
            {
                return Task.CompletedTask;
            }

            slot = null;
            hold.Entered.SetResult();
            return hold.Released.Task;
        }
    }

    /// <summary>The ring range (begin, end], wrapping when begin is not below end.</summary>
    private static bool InRange(uint hash, uint begin, uint end) =>
        begin < end ? hash > begin && hash <= end : hash > begin || hash <= end;
}
