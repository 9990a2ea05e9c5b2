using System.Reflection;
using NetArchTest.Rules;

namespace TokenGrid.Silo.Tests.Architecture;

/// <summary>
/// The dependency rules of the brief, checked on the compiled assemblies (NetArchTest reads every type's references,
/// method bodies included), so a violation fails CI instead of waiting for a review:
/// Abstractions depends on nothing of ours; Inference knows no Orleans, HTTP or database; Grains know no HTTP and no
/// host; outside the offline commands, the host reaches tokens only through the catalog's surface of our own types
/// (<see cref="TokenGrid.Grains.Models.CatalogModel"/>), never Inference itself; grain code sees the PostgreSQL stores
/// only through their interfaces.
/// </summary>
/// <remarks>
/// One rule has violations that predate it (issue 16 removes them). They are listed by type: a new violation fails,
/// and so does a listed type that no longer violates, so the list can only shrink.
/// </remarks>
public sealed class ArchitectureTests
{
    private static readonly Assembly s_abstractions = typeof(TokenGrid.Abstractions.Jobs.JobSpec).Assembly;
    private static readonly Assembly s_inference = typeof(TokenGrid.Inference.Engine.InferenceEngine).Assembly;
    private static readonly Assembly s_grains = typeof(TokenGrid.Grains.Jobs.JobGrain).Assembly;
    private static readonly Assembly s_silo = typeof(TokenGrid.Silo.Apis.JobsApi).Assembly;

    /// <summary>Grains calling PostgreSQL connection handling directly (<c>PostgresConnections.ForgetBroken</c>).</summary>
    private static readonly string[] s_grainsUsingPostgres =
    [
        "TokenGrid.Grains.Jobs.JobGrain",
        "TokenGrid.Grains.Tenants.TenantGrain",
    ];

    [Fact]
    public void Abstractions_depend_on_nothing_of_ours() =>
        AssertHolds(Types.InAssembly(s_abstractions).ShouldNot().HaveDependencyOnAny("TokenGrid.Grains", "TokenGrid.Inference", "TokenGrid.Silo"));

    [Fact]
    public void Inference_knows_no_orleans_http_or_database() =>
        AssertHolds(Types.InAssembly(s_inference).ShouldNot()
            .HaveDependencyOnAny("Orleans", "Microsoft.AspNetCore", "Npgsql", "TokenGrid.Abstractions", "TokenGrid.Grains", "TokenGrid.Silo"));

    [Fact]
    public void Grains_know_no_http_and_no_host() =>
        AssertHolds(Types.InAssembly(s_grains).ShouldNot().HaveDependencyOnAny("Microsoft.AspNetCore", "TokenGrid.Silo"));

    /// <summary>
    /// The offline commands (<c>generate</c>, <c>build-demo-model</c>, <c>models check</c>) run a model in the process and
    /// may use Inference; everything else in the host, the HTTP edge and its hosting included, may not. No other
    /// exception is needed: the host wires the engine through the grains' own hosting extension (<c>AddTokenGridNodes</c>).
    /// </summary>
    [Fact]
    public void The_host_reaches_inference_only_from_its_offline_commands() =>
        AssertHolds(Types.InAssembly(s_silo).That().DoNotResideInNamespace("TokenGrid.Silo.Commands")
            .ShouldNot().HaveDependencyOn("TokenGrid.Inference"));

    [Fact]
    public void Grains_see_postgres_only_through_store_interfaces() =>
        AssertOnly(s_grainsUsingPostgres, Types.InAssembly(s_grains).That().DoNotResideInNamespace("TokenGrid.Grains.Storage.Postgres")
            .ShouldNot().HaveDependencyOnAny("Npgsql", "TokenGrid.Grains.Storage.Postgres"));

    private static void AssertHolds(ConditionList rule)
    {
        var result = rule.GetResult();
        Assert.True(result.IsSuccessful, "These types break the rule: " + string.Join(", ", result.FailingTypeNames ?? []));
    }

    private static void AssertOnly(string[] known, ConditionList rule)
    {
        var failing = (rule.GetResult().FailingTypeNames ?? []).Where(name => !name.Contains('<')).Order().ToList();
        var added = failing.Except(known).ToList();
        var fixedOnes = known.Except(failing).ToList();
        Assert.True(added.Count == 0, "New types break the rule: " + string.Join(", ", added));
        Assert.True(fixedOnes.Count == 0, "These types no longer break the rule; remove them from the known list: " + string.Join(", ", fixedOnes));
    }
}
