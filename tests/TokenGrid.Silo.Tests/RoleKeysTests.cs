using System.Net;
using Microsoft.Extensions.Options;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests;

/// <summary>Each role has a credential of its own: one secret configured for two roles stops the host at start.</summary>
public sealed class RoleKeysTests
{
    private const string Shared = "tg-shared-role-key-0123456789";

    [Theory]
    [InlineData("Admin", "Demo")]
    [InlineData("Admin", "Planner")]
    [InlineData("Admin", "Auditor")]
    [InlineData("Planner", "Auditor")]
    [InlineData("Planner", "Demo")]
    [InlineData("Auditor", "Demo")]
    public async Task One_key_for_two_roles_stops_the_host_naming_both_settings_and_not_the_key(string first, string second)
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => TokenGridServer.StartAsync(new Dictionary<string, string>
        {
            [$"TokenGrid:{first}:ApiKey"] = Shared,
            [$"TokenGrid:{second}:ApiKey"] = Shared,
        }));

        Assert.Contains($"TokenGrid:{first}:ApiKey and TokenGrid:{second}:ApiKey are the same key", error.Message);
        Assert.DoesNotContain(Shared, error.Message);
        Assert.DoesNotContain(Shared[..7], error.Message);
    }

    [Fact]
    public async Task A_disabled_demo_tenants_key_is_no_role_key()
    {
        await using var server = await TokenGridServer.StartAsync(new Dictionary<string, string>
        {
            ["TokenGrid:Demo:Enabled"] = "false",
            ["TokenGrid:Demo:ApiKey"] = TokenGridServer.AdminKey,
        });

        using var admin = server.Client(TokenGridServer.AdminKey);
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("admin/tenants")).StatusCode);
        await (await admin.GetAsync("v1/usage")).AssertProblemAsync(HttpStatusCode.Unauthorized, "invalid_api_key");
    }
}
