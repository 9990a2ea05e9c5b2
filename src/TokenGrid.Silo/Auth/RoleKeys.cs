using Microsoft.Extensions.Options;
using TokenGrid.Silo.Options;

namespace TokenGrid.Silo.Auth;

/// <summary>
/// Each role has a credential of its own: the configured admin, planner and auditor keys and the demo tenant's key (when
/// the demo tenant is enabled) must all differ. One secret given to two roles would act in both (the handlers try the
/// admin key first, so it would silently become the strongest of them), so the host refuses to start, naming the two
/// settings and never the key. Validated with <see cref="AdminOptions"/> when the host starts.
/// </summary>
internal sealed class RoleKeys(IOptions<PlannerAuthOptions> planner, IOptions<AuditorAuthOptions> auditor, IOptions<DemoOptions> demo)
    : IValidateOptions<AdminOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, AdminOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        (string Setting, string? Key)[] keys =
        [
            (AdminOptions.SectionName + ":ApiKey", options.ApiKey),
            (PlannerAuthOptions.SectionName + ":ApiKey", planner.Value.ApiKey),
            (AuditorAuthOptions.SectionName + ":ApiKey", auditor.Value.ApiKey),
            (DemoOptions.SectionName + ":ApiKey", demo.Value.Enabled ? demo.Value.ApiKey : null),
        ];
        for (var i = 0; i < keys.Length; i++)
        {
            for (var j = i + 1; j < keys.Length; j++)
            {
                if (!string.IsNullOrEmpty(keys[i].Key) && string.Equals(keys[i].Key, keys[j].Key, StringComparison.Ordinal))
                {
                    return ValidateOptionsResult.Fail(
                        $"{keys[i].Setting} and {keys[j].Setting} are the same key: each role needs a key of its own, so set a different one for either.");
                }
            }
        }

        return ValidateOptionsResult.Success;
    }
}
