using TokenGrid.Abstractions.Tenants;

namespace TokenGrid.Grains.Billing;

/// <summary>
/// Posts a spend threshold event to a tenant's webhook (the host implements it over HTTP: signing, timeouts, and which
/// addresses may be reached). Throws when the receiver did not take it; the tenant grain posts it again later.
/// </summary>
public interface ISpendWebhookSender
{
    /// <summary>Posts <paramref name="raised"/> of <paramref name="tenantId"/> to <paramref name="url"/>, signed with <paramref name="secret"/>.</summary>
    Task SendAsync(string tenantId, string url, string secret, SpendThresholdEvent raised, CancellationToken cancellationToken);
}
