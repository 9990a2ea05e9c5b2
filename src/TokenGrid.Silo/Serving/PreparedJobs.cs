using System.Collections.Concurrent;
using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using TokenGrid.Abstractions.Jobs;
using TokenGrid.Silo.Options;

namespace TokenGrid.Silo.Serving;

/// <summary>
/// New job ids whose job grains are already active. A new grain's first call waits while Orleans places it, registers it
/// in the grain directory and activates it, reading its (empty) state from grain storage; under full load that took
/// 2.3–2.75 ms median and 4.3–5.4 ms mean on every request, before its admission (docs/benchmarks.md, issue 14). So each
/// request takes an id from here and starts activating one in its place: the wait moves between requests, where no
/// tenant waits on it. The pool holds up to <see cref="ApiOptions.PreparedJobs"/> ids and grows only as requests take
/// ids (one in place of each taken, none for an id too old to use), so an idle silo holds a handful at most.
/// </summary>
/// <remarks>
/// Activating a job grain is what its first read does (<see cref="IJobGrain.GetAsync"/>: no job, no state written), so a
/// prepared id that is never used leaves nothing behind: Orleans collects the idle grain after the job grains' age
/// (<c>JobLifetimeOptions.ReattachGrace</c>). An id waits at most <see cref="MaxIdle"/>; after that it is dropped, so
/// the time in a job id is never more than that before its submission, and a dropped grain costs one idle activation.
/// Orleans places each prepared grain as it would the job's own first call, so a multi-silo cluster spreads them alike.
/// </remarks>
internal sealed partial class PreparedJobs(IGrainFactory grains, TimeProvider time, IOptions<ApiOptions> options, ILogger<PreparedJobs> logger)
{
    /// <summary>Longest an id waits for a request; see the remarks.</summary>
    public static readonly TimeSpan MaxIdle = TimeSpan.FromSeconds(10);

    private readonly ConcurrentQueue<(string Id, long ReadyAt)> _ready = new();
    private int _held;

    /// <summary>Ids ready to take now (their grains active), for tests and diagnostics.</summary>
    public int Ready => _ready.Count;

    /// <summary>Raised with each id once its grain is active and the id is ready to take.</summary>
    public event Action<string>? Prepared;

    /// <summary>
    /// An id for a new job: a prepared one when one is ready, else a new one; either way one more is prepared in its place
    /// while the pool is below its size.
    /// </summary>
    public string Take()
    {
        string? id = null;
        while (_ready.TryDequeue(out var ready))
        {
            if (time.GetElapsedTime(ready.ReadyAt) <= MaxIdle)
            {
                id = ready.Id;
                break;
            }

            // Too old to use: the pool shrinks by it, so an idle silo does not keep re-activating grains no one takes.
            Interlocked.Decrement(ref _held);
        }

        if (id is not null)
        {
            Interlocked.Decrement(ref _held);
        }

        PrepareOne();
        return id ?? NewId();
    }

    /// <summary>
    /// A new job id: <c>job_</c>, 12 hex digits of milliseconds since the epoch when it was made (at most
    /// <see cref="MaxIdle"/> before its job's submission), then 12 random hex digits.
    /// </summary>
    private string NewId() =>
        $"job_{time.GetUtcNow().ToUnixTimeMilliseconds():x12}{RandomNumberGenerator.GetHexString(12, lowercase: true)}";

    private void PrepareOne()
    {
        // _held counts ids ready or being prepared; claim a place before starting, so concurrent takes never overfill.
        var size = options.Value.PreparedJobs;
        int held;
        do
        {
            held = Volatile.Read(ref _held);
            if (held >= size)
            {
                return;
            }
        }
        while (Interlocked.CompareExchange(ref _held, held + 1, held) != held);

        _ = PrepareAsync(NewId());
    }

    private async Task PrepareAsync(string id)
    {
        try
        {
            await grains.GetGrain<IJobGrain>(id).GetAsync();
            _ready.Enqueue((id, time.GetTimestamp()));
            Prepared?.Invoke(id);
        }
        catch (Exception e)
        {
            // The silo is stopping, or the grain's silo failed: the place is given back, and a later request prepares one.
            Interlocked.Decrement(ref _held);
            LogPrepareFailed(logger, e, id);
        }
    }

    [LoggerMessage(EventId = 3203, Level = LogLevel.Debug, Message = "Activating job grain {JobId} ahead of a request failed")]
    private static partial void LogPrepareFailed(ILogger logger, Exception exception, string jobId);
}
