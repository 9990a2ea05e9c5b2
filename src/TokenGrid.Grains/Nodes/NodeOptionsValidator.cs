using Microsoft.Extensions.Options;
using TokenGrid.Grains.Catalog;

namespace TokenGrid.Grains.Nodes;

/// <summary>Validates <see cref="NodeOptions"/> at startup, including that the models it lists are in the catalog.</summary>
internal sealed class NodeOptionsValidator(IOptions<ModelCatalogOptions> catalog) : IValidateOptions<NodeOptions>
{
    public ValidateOptionsResult Validate(string? name, NodeOptions options)
    {
        var error = options.Validate();
        if (error is null && options.Models.Count > 0)
        {
            var known = catalog.Value.Entries.Select(e => e.Name).ToHashSet(StringComparer.Ordinal);
            if (options.Models.FirstOrDefault(m => !known.Contains(m)) is { } missing)
            {
                error = $"model '{missing}' is not in the catalog ({ModelCatalogOptions.SectionName}:Entries: {string.Join(", ", known)}).";
            }
        }

        return error is null ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail($"{NodeOptions.SectionName}: {error}");
    }
}
