using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using TokenGrid.Silo.Auth;

namespace TokenGrid.Silo.Problems;

/// <summary>
/// Lists in the OpenAPI document the problems every operation of the API can answer whatever it does, which no endpoint
/// declares one by one: 400 (a query parameter it does not take, <c>unrecognized_argument</c>), 401 where it needs a key,
/// 403 where the auditor key may reach it but does not open it (the admin endpoints), 413 and 415 where it reads a body
/// (too large; another media type, charset or content coding), and 503 (a dependency unavailable, with
/// <c>Retry-After</c>). It also gives the problem schema the members TokenGrid's problems carry beyond RFC 9457's:
/// OpenAI's <c>error</c> object, <c>trace_id</c> and <c>job_id</c>. A client generated from the document then knows each
/// status it can meet and what its body holds (silo-config/README.md, "Errors").
/// </summary>
internal sealed class ProblemResponsesTransformer : IOpenApiOperationTransformer, IOpenApiDocumentTransformer
{
    /// <summary>The problem schema's name under <c>components.schemas</c> (ASP.NET Core's, for <c>ProducesProblem</c>).</summary>
    private const string ProblemSchema = "ProblemDetails";

    public Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(document);
        if (document.Components?.Schemas is not { } schemas || !schemas.TryGetValue(ProblemSchema, out var schema) || schema is not OpenApiSchema problem)
        {
            return Task.CompletedTask;
        }

        problem.Description = "An RFC 9457 problem that also carries OpenAI's error object, so OpenAI SDKs show its message.";
        problem.Properties ??= new Dictionary<string, IOpenApiSchema>(StringComparer.Ordinal);
        problem.Properties["error"] = new OpenApiSchema
        {
            Type = JsonSchemaType.Object,
            Description = "OpenAI's error object.",
            Required = new HashSet<string>(StringComparer.Ordinal) { "message", "type" },
            Properties = new Dictionary<string, IOpenApiSchema>(StringComparer.Ordinal)
            {
                ["message"] = String("The problem's detail."),
                ["type"] = String("OpenAI's error type, e.g. invalid_request_error."),
                ["code"] = String("TokenGrid's code for the problem, e.g. invalid_value (silo-config/README.md, \"Errors\").", nullable: true),
                ["param"] = String("The request field, query parameter or header at fault.", nullable: true),
            },
        };
        problem.Properties["trace_id"] = String("The request's W3C trace context id, as its x-request-id header.");
        problem.Properties["job_id"] = String("The job the request was admitted as, when there was one: it may have run and been charged.");
        return Task.CompletedTask;
    }

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

        if (operation.RequestBody is not null)
        {
            Add(operation, context, StatusCodes.Status413PayloadTooLarge, "Content Too Large");
            Add(operation, context, StatusCodes.Status415UnsupportedMediaType, "Unsupported Media Type");
        }

        Add(operation, context, StatusCodes.Status503ServiceUnavailable, "Service Unavailable");
        return Task.CompletedTask;
    }

    private static OpenApiSchema String(string description, bool nullable = false) =>
        new() { Type = nullable ? JsonSchemaType.String | JsonSchemaType.Null : JsonSchemaType.String, Description = description };

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
                ["application/problem+json"] = new() { Schema = new OpenApiSchemaReference(ProblemSchema, context.Document) },
            },
        };
    }
}
