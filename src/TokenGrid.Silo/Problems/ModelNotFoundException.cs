using TokenGrid.Abstractions.Nodes;

namespace TokenGrid.Silo.Problems;

/// <summary>
/// A request named a model this silo's catalog does not hold. Answered 404 <c>model_not_found</c>; the problem says
/// whether nodes of other silos serve the model (<see cref="ProblemAsync"/>), so a client and an operator tell a typo
/// from a model that only some silos have (a roll in progress, or a silo whose entry is missing).
/// </summary>
/// <param name="model">The name asked for.</param>
internal sealed class ModelNotFoundException(string model) : Exception($"The model '{model}' does not exist.")
{
    /// <summary>How long the look at the node registry may take before the plain problem is answered.</summary>
    private static readonly TimeSpan s_lookup = TimeSpan.FromSeconds(2);

    /// <summary>The name asked for.</summary>
    public string Model { get; } = model;

    /// <summary>
    /// The 404 problem: when live nodes of other silos advertise the model, it names them and says this silo's catalog
    /// lacks the entry; otherwise, or when the registry cannot be read in time, the plain "does not exist".
    /// </summary>
    public async Task<ApiProblem> ProblemAsync(IGrainFactory grains, string silo)
    {
        ArgumentNullException.ThrowIfNull(grains);
        var problem = ApiProblems.ModelNotFound(Model);
        IReadOnlyList<NodeReport> nodes;
        try
        {
            nodes = await grains.GetGrain<INodeRegistryGrain>(0).ListAsync().WaitAsync(s_lookup);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return problem;
        }

        var serving = nodes.Where(n => !string.Equals(n.Silo, silo, StringComparison.Ordinal)
                && (n.LoadableModels.Contains(Model, StringComparer.Ordinal) || n.Models.Contains(Model, StringComparer.Ordinal)))
            .Select(n => n.Silo).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        return serving.Count == 0 ? problem : problem with
        {
            Detail = $"The model '{Model}' is not in the catalog of silo '{silo}', which took this request, although nodes of "
                + $"{(serving.Count == 1 ? "silo" : "silos")} {string.Join(", ", serving.Select(s => $"'{s}'"))} serve it: the silos' model "
                + "entries differ (a roll in progress, or an entry missing on this silo). Every silo that takes requests needs the "
                + "model's entry (TokenGrid:Models:Entries); TokenGrid:Nodes:Models narrows what its nodes serve.",
        };
    }
}
