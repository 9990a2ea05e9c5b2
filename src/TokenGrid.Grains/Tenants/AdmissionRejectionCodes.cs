using TokenGrid.Abstractions.Tenants;

namespace TokenGrid.Grains.Tenants;

/// <summary>Stable snake_case codes of <see cref="AdmissionRejection"/>, for metric labels and error bodies.</summary>
public static class AdmissionRejectionCodes
{
    /// <summary>The code of <paramref name="rejection"/>, e.g. <c>token_rate_limited</c>.</summary>
    public static string ToCode(this AdmissionRejection rejection) => rejection switch
    {
        AdmissionRejection.TenantDisabled => "tenant_disabled",
        AdmissionRejection.RequestRateLimited => "request_rate_limited",
        AdmissionRejection.TokenRateLimited => "token_rate_limited",
        AdmissionRejection.ConcurrencyLimited => "concurrency_limited",
        AdmissionRejection.QuotaExhausted => "quota_exhausted",
        AdmissionRejection.RequestTooLarge => "request_too_large",
        AdmissionRejection.SpendCapReached => "spend_cap_reached",
        AdmissionRejection.SubsidyExhausted => "subsidy_exhausted",
        _ => "unknown",
    };
}
