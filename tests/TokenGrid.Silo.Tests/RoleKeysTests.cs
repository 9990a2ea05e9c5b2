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

    [Theory]
    [InlineData("Admin", "tg-admin-key-0123456789\n", "a line break at its end (a Kubernetes Secret or file written with echo keeps its newline")]
    [InlineData("Demo", "tg-demo-key-0123456789\r\n", "a line break at position 23 of 24")]
    [InlineData("Planner", " tg-planner-key-0123456789", "a space at its start")]
    [InlineData("Auditor", "tg-auditor key-0123456789", "a space at position 11 of 25")]
    [InlineData("Admin", "tg-admin-key-0123456789\t", "a tab at its end")]
    [InlineData("Admin", "tg-admin-kéy-0123456789", "a character outside printable ASCII at position 11")]
    public async Task A_key_a_client_cannot_send_as_a_bearer_token_stops_the_host_naming_the_setting_and_not_the_key(
        string role, string key, string problem)
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() =>
            TokenGridServer.StartAsync(new Dictionary<string, string> { [$"TokenGrid:{role}:ApiKey"] = key }));

        Assert.Contains($"TokenGrid:{role}: the {role.ToLowerInvariant()} API key has {problem}", error.Message);
        Assert.DoesNotContain(key.Trim()[..10], error.Message);
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
