using TokenGrid.Grains.Catalog;
using TokenGrid.Silo.Hosting;
using TokenGrid.Silo.OpenAi;
using TokenGrid.Silo.Problems;

namespace TokenGrid.Silo.Apis;

/// <summary>OpenAI's model list: <c>GET /v1/models</c> and <c>GET /v1/models/{id}</c>.</summary>
internal static class ModelsApi
{
    public static RouteGroupBuilder MapModelsApi(this RouteGroupBuilder v1)
    {
        var models = v1.MapGroup("/models").WithTags("OpenAI");
        models.MapGet("/", ListModels).WithName("ListModels").WithSummary("The models this cluster serves.");
        models.MapGet("/{**id}", GetModel).WithName("GetModel").WithSummary("One served model (names may contain '/').")
            .ProducesProblem(StatusCodes.Status404NotFound);
        return v1;
    }

    internal static Ok<ModelList> ListModels(ModelCatalog catalog, ServerClock clock) =>
        TypedResults.Ok(new ModelList([.. catalog.Models.Select(m => Card(m, clock))]));

    internal static Ok<ModelCard> GetModel(string id, ModelCatalog catalog, ServerClock clock) =>
        catalog.TryGet(id, out var model)
            ? TypedResults.Ok(Card(model, clock))
            : throw new ModelNotFoundException(id);

    private static ModelCard Card(CatalogModel model, ServerClock clock) =>
        new(model.Name, clock.StartedAt.ToUnixTimeSeconds(), "tokengrid", model.ContextLength);
}
