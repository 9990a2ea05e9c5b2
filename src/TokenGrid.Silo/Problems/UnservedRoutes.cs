namespace TokenGrid.Silo.Problems;

/// <summary>
/// What a 404 of a route TokenGrid does not have says. Frameworks call OpenAI endpoints of their own choosing (the Vercel
/// AI SDK's <c>@ai-sdk/openai</c> can list a stored response's input items under <c>/v1/responses/{id}/input_items</c>), and a bare "Not Found" left their users to guess
/// whether the key, the model or the path was wrong: the message names the method and path, and what is served instead.
/// </summary>
internal static class UnservedRoutes
{
    /// <summary>The OpenAI-compatible endpoints TokenGrid serves, as the message lists them.</summary>
    public const string Served = "POST /v1/chat/completions, POST /v1/completions, POST /v1/responses, GET and DELETE /v1/responses/{id}, GET /v1/models and GET /v1/models/{id}";

    // Longer paths are cut in the message: it is for a person, and the path is the client's.
    private const int MaxPathLength = 200;

    // OpenAI's APIs that clients reach for, and the served one to use instead where there is one.
    private static readonly (string Prefix, string Name, string? Instead)[] OpenAiApis =
    [
        ("/v1/responses", "response store beyond retrieval and deletion (input items, cancel)",
            "POST /v1/responses and GET and DELETE /v1/responses/{id} are served; the job of response resp_X is at GET /v1/jobs/job_X."),
        ("/v1/embeddings", "Embeddings API", null),
        ("/v1/assistants", "Assistants API", null),
        ("/v1/threads", "Assistants API", null),
        ("/v1/audio", "Audio API", null),
        ("/v1/images", "Images API", null),
        ("/v1/moderations", "Moderations API", null),
        ("/v1/files", "Files API", null),
        ("/v1/batches", "Batch API", null),
        ("/v1/fine_tuning", "Fine-tuning API", null),
        ("/v1/realtime", "Realtime API", null),
    ];

    /// <summary>The message of a 405: <paramref name="path"/> exists, but takes only <paramref name="allowed"/>.</summary>
    public static string MethodMessage(string method, string path, string allowed) =>
        $"{method} is not allowed on {Shown(path)}, which takes {allowed}.";

    /// <summary>The message of a 404 for <paramref name="method"/> <paramref name="path"/>, which no endpoint maps.</summary>
    public static string Message(string method, string path)
    {
        var message = $"TokenGrid has no endpoint {method} {Shown(path)}.";
        foreach (var (prefix, name, instead) in OpenAiApis)
        {
            if (path.Equals(prefix, StringComparison.OrdinalIgnoreCase) || path.StartsWith(prefix + "/", StringComparison.OrdinalIgnoreCase))
            {
                message += $" OpenAI's {name} is not served.";
                if (instead is not null)
                {
                    message += " " + instead;
                }

                break;
            }
        }

        return message + $" The OpenAI-compatible endpoints are {Served}; the rest of the API is listed at /openapi/v1.json.";
    }

    private static string Shown(string path) => path.Length > MaxPathLength ? path[..MaxPathLength] + "…" : path;
}
