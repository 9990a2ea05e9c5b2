using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using TokenGrid.Silo.Auth;

namespace TokenGrid.Silo.Problems;

/// <summary>
/// Lists in the OpenAPI document the problems every operation of the API can answer whatever it does, which no endpoint
/// declares one by one: 400 (a query parameter it does not take, <c>unrecognized_argument</c>), 401 where it needs a key,
/// 403 where the auditor key may reach it but does not open it (the admin endpoints), and 503 (a dependency unavailable,
/// with <c>Retry-After</c>). A client generated from the document then knows each status it can meet
/// (silo-config/README.md, "Errors").
/// </summary>
internal sealed class ProblemResponsesTransformer : IOpenApiOperationTransformer
{
    public Task TransformAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(operation);
        ArgumentNullException.ThrowIfNull(context);
        var path = context.Description.RelativePath ?? "";
        if (!path.StartsWith("v1/", StringComparison.Ordinal) && !path.StartsWith("admin/", StringComparison.Ordinal))
        {
            return Task.CompletedTask;
        }

        var policies = context.Description.ActionDescriptor.EndpointMetadata.OfType<IAuthorizeData>()
            .Select(a => a.Policy).OfType<string>().ToHashSet(StringComparer.Ordinal);
        operation.Responses ??= [];
        Add(operation, context, StatusCodes.Status400BadRequest, "Bad Request");
        if (policies.Count > 0)
        {
            Add(operation, context, StatusCodes.Status401Unauthorized, "Unauthorized");
        }

        if (policies.Contains(TokenGridAuth.AdminPolicy))
        {
            Add(operation, context, StatusCodes.Status403Forbidden, "Forbidden");
        }

        Add(operation, context, StatusCodes.Status503ServiceUnavailable, "Service Unavailable");
        return Task.CompletedTask;
    }

    private static void Add(OpenApiOperation operation, OpenApiOperationTransformerContext context, int status, string description)
    {
        var key = status.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (operation.Responses!.ContainsKey(key))
        {
            return;
        }

        operation.Responses[key] = new OpenApiResponse
        {
            Description = description,
            Content = new Dictionary<string, OpenApiMediaType>(StringComparer.Ordinal)
            {
                ["application/problem+json"] = new() { Schema = new OpenApiSchemaReference("ProblemDetails", context.Document) },
            },
        };
    }
}
