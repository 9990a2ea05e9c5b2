using TokenGrid.Grains.Catalog;

namespace TokenGrid.Silo.Apis;

/// <summary>
/// The models this silo was configured with, as it read them: <c>GET /admin/models</c>. A model that could not be read
/// is listed with the reason (it is left out of <c>/v1/models</c>); each silo reads its own catalog, so the answer is
/// this silo's.
/// </summary>
internal static class AdminModelsApi
{
    public static RouteGroupBuilder MapAdminModelsApi(this RouteGroupBuilder admin)
    {
        admin.MapGet("/models", ListModels).WithTags("Admin").WithName("ListCatalogModels")
            .WithSummary("This silo's configured models: served ones with their limits and tokenizer, failed ones with the reason.");
        return admin;
    }

    internal static Ok<ListPage<CatalogModelStatus>> ListModels(ModelCatalog catalog)
    {
        var served = catalog.Models.Select(m => new CatalogModelStatus(
            m.Name, m.Directory, "served", m.ContextLength, m.VocabSize, m.TokenizerKind, null, null, m.Fingerprint));
        var failed = catalog.Failures.Select(f => new CatalogModelStatus(f.Name, f.Directory, "failed", null, null, null, f.Code, f.Reason));
        return TypedResults.Ok(new ListPage<CatalogModelStatus>([.. served, .. failed], false, null));
    }
}

/// <summary>One configured model as this silo read it.</summary>
/// <param name="Name">The name clients ask for.</param>
/// <param name="Directory">The model directory.</param>
/// <param name="Status"><c>served</c>, or <c>failed</c> when the folder could not be read.</param>
/// <param name="ContextLength">Maximum prompt plus generated tokens (served models).</param>
/// <param name="VocabSize">Rows of the embedding (served models).</param>
/// <param name="Tokenizer">Which tokenizer the folder supplied (served models).</param>
/// <param name="Code">Why it failed, as a stable code (<see cref="ModelLoadFailure.Code"/>).</param>
/// <param name="Reason">Why it failed, in one line naming the file and field.</param>
/// <param name="Fingerprint">
/// The identity of the files served (served models; <see cref="CatalogModel.Fingerprint"/>): the same on every silo that
/// serves the same files, another after a change of weights, tokenizer or template.
/// </param>
public sealed record CatalogModelStatus(
    string Name, string Directory, string Status, int? ContextLength, int? VocabSize, string? Tokenizer, string? Code, string? Reason,
    string? Fingerprint = null);
