using TokenGrid.Abstractions.Scheduling;

namespace TokenGrid.Grains.Scheduling;

/// <summary>The stable snake_case codes of <see cref="SchedulingRejection"/>, as the API shows them.</summary>
public static class SchedulingRejectionCodes
{
    /// <summary>The code of <paramref name="rejection"/>.</summary>
    public static string ToCode(this SchedulingRejection rejection) => rejection switch
    {
        SchedulingRejection.TenantQueueFull => "tenant_queue_full",
        SchedulingRejection.ModelQueueFull => "cluster_full",
        SchedulingRejection.NoEligibleNode => "no_eligible_node",
        _ => "scheduling_rejected",
    };
}
