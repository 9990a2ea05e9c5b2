using System.Reflection;
using NetArchTest.Rules;

namespace TokenGrid.Silo.Tests.Architecture;

/// <summary>
/// The dependency rules of the brief, checked on the compiled assemblies (NetArchTest reads every type's references,
/// method bodies included), so a violation fails CI instead of waiting for a review:
/// Abstractions depends on nothing of ours; Inference knows no Orleans, HTTP or database; Grains know no HTTP and no
/// host; outside the offline commands, the host reaches tokens only through grains and the catalog's surface of our own
/// types (<see cref="TokenGrid.Grains.Catalog.CatalogModel"/>), never Inference itself; grain code
/// knows neither PostgreSQL nor the storage project, only the store interfaces; the storage project implements those
/// interfaces and knows no grain, HTTP, host or inference.
/// </summary>
public sealed class ArchitectureTests
{
    private static readonly Assembly s_abstractions = typeof(TokenGrid.Abstractions.Jobs.JobSpec).Assembly;
    private static readonly Assembly s_inference = typeof(TokenGrid.Inference.Engine.InferenceEngine).Assembly;
    private static readonly Assembly s_grains = typeof(TokenGrid.Grains.Jobs.JobGrain).Assembly;
    private static readonly Assembly s_silo = typeof(TokenGrid.Silo.Apis.JobsApi).Assembly;
    private static readonly Assembly s_storage = typeof(TokenGrid.Storage.Postgres.PostgresTenantStore).Assembly;

    [Fact]
    public void Abstractions_depend_on_nothing_of_ours() =>
        AssertHolds(Types.InAssembly(s_abstractions).ShouldNot().HaveDependencyOnAny("TokenGrid.Grains", "TokenGrid.Inference", "TokenGrid.Silo", "TokenGrid.Storage"));

    [Fact]
    public void Inference_knows_no_orleans_http_or_database() =>
        AssertHolds(Types.InAssembly(s_inference).ShouldNot()
            .HaveDependencyOnAny("Orleans", "Microsoft.AspNetCore", "Npgsql", "TokenGrid.Abstractions", "TokenGrid.Grains", "TokenGrid.Silo", "TokenGrid.Storage"));

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
    public void Grains_know_no_postgres_and_no_storage_project() =>
        AssertHolds(Types.InAssembly(s_grains).ShouldNot().HaveDependencyOnAny("Npgsql", "TokenGrid.Storage"));

    /// <summary>
    /// The storage project may use the store interfaces and state types it persists (from Grains) and Orleans' storage
    /// and serialization, but no grain class or grain interface, nothing that calls grains, no HTTP, host or inference.
    /// </summary>
    [Fact]
    public void Storage_knows_no_grains_http_host_or_inference()
    {
        string[] grains =
        [
            .. s_grains.GetTypes().Where(t => typeof(Grain).IsAssignableFrom(t)).Select(t => t.FullName!),
            .. s_abstractions.GetTypes().Where(t => typeof(IGrain).IsAssignableFrom(t)).Select(t => t.FullName!),
        ];
        Assert.NotEmpty(grains);
        AssertHolds(Types.InAssembly(s_storage).ShouldNot().HaveDependencyOnAny(
            [.. grains, "Orleans.IGrainFactory", "Orleans.IClusterClient", "Microsoft.AspNetCore", "TokenGrid.Silo", "TokenGrid.Inference"]));
    }

    private static void AssertHolds(ConditionList rule)
    {
        var result = rule.GetResult();
        Assert.True(result.IsSuccessful, "These types break the rule: " + string.Join(", ", result.FailingTypeNames ?? []));
    }
}
