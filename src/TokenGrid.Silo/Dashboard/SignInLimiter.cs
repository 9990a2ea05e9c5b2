using System.Net;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using TokenGrid.Silo.Auth;

namespace TokenGrid.Silo.Dashboard;

/// <summary>
/// Wrong keys at the dashboard's sign-in form, per client address (as the silo sees it): at most
/// <see cref="PlannerAuthOptions.FailedSignInsPerMinute"/> in each minute (a fixed window of ASP.NET Core's
/// <c>System.Threading.RateLimiting</c>). While an address has used them up every sign-in from it is refused, the right
/// key's included, so the form is no oracle for guessing. Each silo counts on its own.
/// </summary>
/// <remarks>
/// A fixed window, not a token bucket: the partitioned token bucket let every wrong key through on a silo that had run
/// for a while (measured: 14 wrong keys in a row from curl, all 401), since a bucket that sat full refilled at once.
/// </remarks>
internal sealed class SignInLimiter : IDisposable
{
    private readonly PartitionedRateLimiter<IPAddress> _failures;

    public SignInLimiter(IOptions<PlannerAuthOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var perMinute = options.Value.FailedSignInsPerMinute;
        _failures = PartitionedRateLimiter.Create<IPAddress, IPAddress>(address => RateLimitPartition.GetFixedWindowLimiter(address, _ =>
            new FixedWindowRateLimiterOptions { PermitLimit = perMinute, Window = Window, QueueLimit = 0 }));
    }

    /// <summary>The window the wrong keys are counted in; a locked-out address waits at most this long.</summary>
    public static TimeSpan Window { get; } = TimeSpan.FromMinutes(1);

    /// <summary>Whether <paramref name="client"/> may try a key now (its bucket is not empty).</summary>
    public bool MayTry(IPAddress? client)
    {
        using var lease = _failures.AttemptAcquire(client ?? IPAddress.None, 0);
        return lease.IsAcquired;
    }

    /// <summary>Counts a wrong key from <paramref name="client"/>.</summary>
    public void Failed(IPAddress? client) => _failures.AttemptAcquire(client ?? IPAddress.None).Dispose();

    public void Dispose() => _failures.Dispose();
}
