using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.Tenants;

namespace TokenGrid.Grains.Tests.Tenants;

/// <summary>A tenant's prefix cache scope: its own by default, a named shared one when its budget opts in.</summary>
public sealed class PrefixCacheScopeTests
{
    [Theory]
    [InlineData("public-prompts")]
    [InlineData("a")]
    [InlineData("Team_1.v2")]
    public void A_name_of_letters_digits_dashes_underscores_and_dots_is_a_valid_scope(string name) =>
        Assert.Null(new TenantBudget { PrefixCacheScope = name }.Validate());

    [Theory]
    [InlineData("")]
    [InlineData(" ")]
    [InlineData("has space")]
    [InlineData("tenant:other")]
    [InlineData("slash/es")]
    [InlineData("ünïcode")]
    public void Any_other_name_is_refused_naming_the_field(string name) =>
        Assert.StartsWith("prefix_cache_scope", new TenantBudget { PrefixCacheScope = name }.Validate());

    [Fact]
    public void A_name_is_at_most_64_characters()
    {
        Assert.Null(new TenantBudget { PrefixCacheScope = new string('x', 64) }.Validate());
        Assert.StartsWith("prefix_cache_scope", new TenantBudget { PrefixCacheScope = new string('x', 65) }.Validate());
    }

    [Fact]
    public void Without_a_shared_scope_each_tenant_has_its_own_and_a_shared_one_never_meets_a_tenants_own()
    {
        Assert.Null(new TenantBudget().PrefixCacheScope);
        Assert.Equal("tenant:a", PrefixCacheScopes.For("a", null));
        Assert.NotEqual(PrefixCacheScopes.For("a", null), PrefixCacheScopes.For("b", null));
        Assert.Equal(PrefixCacheScopes.For("a", "public"), PrefixCacheScopes.For("b", "public"));
        // A shared scope named like a tenant cannot reach that tenant's own blocks (':' is not allowed in a name).
        Assert.NotEqual(PrefixCacheScopes.For("a", null), PrefixCacheScopes.For("b", "a"));
        Assert.Equal("tenant:a", PrefixCacheScopes.Of("a", null));
    }

    [Fact]
    public void Budgets_differing_only_in_their_scope_are_not_equal() =>
        Assert.NotEqual(new TenantBudget(), new TenantBudget { PrefixCacheScope = "public" });
}
