using Microsoft.Extensions.Time.Testing;

namespace TokenGrid.Silo.Tests.Support;

/// <summary>
/// A <see cref="FakeTimeProvider"/> that knows which of its timers are armed and have not fired, so a test moves the
/// clock only once the code under test sleeps on it: a retry announces its pause before it starts it, and time moved in
/// between would be lost.
/// </summary>
internal sealed class SleepingClock : FakeTimeProvider
{
    private readonly object _gate = new();
    private readonly HashSet<Watched> _armed = [];
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes once a timer is armed and waiting to fire (at once if one is already).</summary>
    public async Task UntilSleepingAsync()
    {
        while (true)
        {
            Task changed;
            lock (_gate)
            {
                if (_armed.Count > 0)
                {
                    return;
                }

                changed = _changed.Task;
            }

            await changed;
        }
    }

    /// <inheritdoc />
    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var watched = new Watched(this);
        watched.Inner = base.CreateTimer(
            s =>
            {
                watched.Fired(period);
                callback(s);
            },
            state,
            dueTime,
            period);
        watched.Armed(dueTime);
        return watched;
    }

    private void Set(Watched timer, bool armed)
    {
        TaskCompletionSource changed;
        lock (_gate)
        {
            if (!(armed ? _armed.Add(timer) : _armed.Remove(timer)))
            {
                return;
            }

            changed = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        changed.SetResult();
    }

    private sealed class Watched(SleepingClock clock) : ITimer
    {
        private int _version;
        private int _firedVersion = -1;

        public ITimer Inner { get; set; } = null!;

        /// <summary>Counts the timer as sleeping once it is set to fire, unless it fired already.</summary>
        public void Armed(TimeSpan dueTime)
        {
            lock (clock._gate)
            {
                if (_firedVersion == _version || dueTime == Timeout.InfiniteTimeSpan)
                {
                    return;
                }
            }

            clock.Set(this, armed: true);
        }

        public void Fired(TimeSpan period)
        {
            if (period != Timeout.InfiniteTimeSpan)
            {
                return;
            }

            lock (clock._gate)
            {
                _firedVersion = _version;
            }

            clock.Set(this, armed: false);
        }

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            lock (clock._gate)
            {
                _version++;
            }

            clock.Set(this, armed: false);
            var changed = Inner.Change(dueTime, period);
            Armed(dueTime);
            return changed;
        }

        public void Dispose()
        {
            clock.Set(this, armed: false);
            Inner.Dispose();
        }

        public ValueTask DisposeAsync()
        {
            clock.Set(this, armed: false);
            return Inner.DisposeAsync();
        }
    }
}
