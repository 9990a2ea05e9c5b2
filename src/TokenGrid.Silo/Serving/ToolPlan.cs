using System.Text.Json;
using System.Text.Json.Nodes;
using TokenGrid.Grains.Catalog;
using TokenGrid.Silo.OpenAi;
using TokenGrid.Silo.Problems;

namespace TokenGrid.Silo.Serving;

/// <summary>How a chat request may call its tools.</summary>
internal enum ToolMode
{
    /// <summary><c>tool_choice: "none"</c>: the model is told of the tools but its output is content only.</summary>
    None,

    /// <summary><c>auto</c> (the default with tools): the output is read for calls in the model's own syntax.</summary>
    Auto,

    /// <summary><c>required</c> or a named function: decoding is constrained to a call (plain JSON) whose arguments match the function's parameters.</summary>
    Forced,
}

/// <summary>
/// A chat request's <c>tools</c>, <c>tool_choice</c> and <c>parallel_tool_calls</c>, checked: the tool definitions for
/// the chat template, the mode and, when a call is forced, the JSON schema of the calls that decoding is held to.
/// </summary>
internal sealed record ToolPlan(IReadOnlyList<JsonNode> Tools, ToolMode Mode, string? CallSchema)
{
    /// <summary>
    /// With <c>auto</c>, on a model whose template opens calls with a marker: the marker, from which the output is held
    /// to <see cref="OpenedCallSchema"/>. Null otherwise.
    /// </summary>
    public string? CallOpening { get; init; }

    /// <summary>The schema of what follows <see cref="CallOpening"/>: a call (or Mistral's list of calls) in the model's shape.</summary>
    public string? OpenedCallSchema { get; init; }

    /// <summary>
    /// With <see cref="CallOpening"/>: whether the model may make several calls (<c>parallel_tool_calls</c>, default
    /// true), each held to the parameters from its own opening, in a syntax that writes one call per opening. Otherwise
    /// the reply ends when the first call is complete.
    /// </summary>
    public bool RepeatCalls { get; init; }

    /// <summary>Most tools per request (OpenAI's limit).</summary>
    public const int MaxTools = 128;

    /// <summary>The plan of a request, or null when it gives no tools.</summary>
    /// <param name="tools">The request's <c>tools</c>.</param>
    /// <param name="toolChoice">The request's <c>tool_choice</c>.</param>
    /// <param name="parallel">The request's <c>parallel_tool_calls</c>.</param>
    /// <param name="model">The model the request names.</param>
    /// <param name="flat">
    /// The Responses API's layout: a function's <c>name</c>, <c>description</c>, <c>parameters</c> and <c>strict</c>
    /// beside its <c>type</c> (chat nests them under <c>function</c>), a named choice <c>{"type": "function", "name"}</c>,
    /// and a built-in tool type (web_search, file_search, …) an unsupported parameter. Errors name the fields where the
    /// caller wrote them; the template gets chat's layout either way.
    /// </param>
    public static ToolPlan? Of(JsonElement tools, JsonElement toolChoice, bool? parallel, CatalogModel model, bool flat = false)
    {
        if (tools.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null)
        {
            // As OpenAI answers both: a setting for tools that are not there would be accepted and ignored.
            return toolChoice.ValueKind is not (JsonValueKind.Undefined or JsonValueKind.Null)
                ? throw Problem("tool_choice is only allowed when tools are given.", "tool_choice")
                : parallel is not null ? throw Problem("parallel_tool_calls is only allowed when tools are given.", "parallel_tool_calls")
                : null;
        }

        if (tools.ValueKind != JsonValueKind.Array || tools.GetArrayLength() is 0 or > MaxTools)
        {
            throw Problem($"tools must be an array of 1 to {MaxTools} tools.", "tools");
        }

        var definitions = new List<JsonNode>();
        var functions = new Dictionary<string, JsonElement?>(StringComparer.Ordinal);
        var places = new Dictionary<string, string>(StringComparer.Ordinal);
        var index = 0;
        foreach (var tool in tools.EnumerateArray())
        {
            var at = $"tools[{index++}]";
            if (tool.ValueKind != JsonValueKind.Object || !tool.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String || type.GetString() != "function")
            {
                throw flat && tool.ValueKind == JsonValueKind.Object && tool.TryGetProperty("type", out var builtIn) && builtIn.ValueKind == JsonValueKind.String
                    ? new ApiProblemException(ApiProblems.BadRequest(
                        $"{at}.type '{builtIn.GetString()}' is not supported: TokenGrid serves function tools only (type \"function\"), which the caller runs.",
                        "unsupported_parameter", $"{at}.type"))
                    : Problem($"{at}.type must be \"function\" (the only tool type supported).", $"{at}.type");
            }

            // Where the function's fields are: beside the type (flat), or in its "function" object (chat).
            var fn = flat ? at : $"{at}.function";
            if (flat)
            {
                RequestFieldPolicy.CheckKeys(tool, at, "type", "name", "description", "parameters", "strict");
            }
            else
            {
                RequestFieldPolicy.CheckKeys(tool, at, "type", "function");
                if (tool.TryGetProperty("function", out var declared))
                {
                    RequestFieldPolicy.CheckKeys(declared, fn, "name", "description", "parameters", "strict");
                }
            }

            var function = tool;
            if ((!flat && (!tool.TryGetProperty("function", out function) || function.ValueKind != JsonValueKind.Object))
                || !function.TryGetProperty("name", out var name) || name.ValueKind != JsonValueKind.String || !ResponseFormats.IsName(name.GetString()!))
            {
                throw Problem($"{fn}.name must be 1 to 64 letters, digits, underscores or dashes.", $"{fn}.name");
            }

            JsonElement? parameters = null;
            if (function.TryGetProperty("parameters", out var p) && p.ValueKind != JsonValueKind.Null)
            {
                parameters = p.ValueKind == JsonValueKind.Object ? p : throw Problem($"{fn}.parameters must be a JSON schema object.", $"{fn}.parameters");
            }

            if (flat && function.TryGetProperty("strict", out var strict) && strict.ValueKind is not (JsonValueKind.True or JsonValueKind.False or JsonValueKind.Null))
            {
                throw Problem($"{fn}.strict must be a boolean.", $"{fn}.strict");
            }

            if (!functions.TryAdd(name.GetString()!, parameters))
            {
                throw Problem($"Two tools are named '{name.GetString()}'.", $"{fn}.name");
            }

            places[name.GetString()!] = $"{fn}.parameters";
            definitions.Add(flat ? Nested(tool) : JsonNode.Parse(tool.GetRawText())!);
        }

        var (mode, forced) = Choice(toolChoice, functions, flat);
        var schema = mode == ToolMode.Forced ? CallsOf(forced is null ? functions : new() { [forced] = functions[forced] }, parallel ?? true, forced is null) : null;
        if (schema is not null && model.CheckOutputSchema(schema) is { } problem)
        {
            // Named where the caller wrote it when one function's parameters fail on their own (tools[i].function.parameters,
            // and the place inside them), not inside the call schema built around them; only then is the check repeated.
            foreach (var (function, parameters) in functions.Where(f => forced is null || f.Key == forced))
            {
                if (parameters is { } own && model.CheckOutputSchema(own.GetRawText()) is { } wrong)
                {
                    throw Unenforceable($"The parameters of '{function}'", wrong, places[function]);
                }
            }

            throw Unenforceable("A tool's parameters", problem, "tools");
        }

        // With auto, a call the model opens in its own syntax is held to the parameters from its opening on. Parameters
        // that cannot be enforced leave such calls free (they are still read); only forcing a call refuses them.
        if (mode == ToolMode.Auto && model.CallShape is { } shape)
        {
            // A syntax that lists its calls after one opening (Mistral's) holds the list, of one call unless in parallel;
            // one that opens each call (Hermes, Llama 3) holds each call in turn, for as many as the model opens.
            var opened = CallsOf(functions, shape.List && (parallel ?? true), several: true, shape.ArgumentsKey, listOnly: shape.List);
            if (model.CheckOutputSchema(opened) is null)
            {
                return new ToolPlan(definitions, mode, null)
                {
                    CallOpening = shape.Opening, OpenedCallSchema = opened, RepeatCalls = !shape.List && (parallel ?? true),
                };
            }
        }

        return new ToolPlan(definitions, mode, schema);
    }

    /// <summary>A Responses API function tool (flat) in chat's layout, as chat templates read tools.</summary>
    private static JsonObject Nested(JsonElement tool)
    {
        var function = new JsonObject();
        foreach (var property in tool.EnumerateObject().Where(p => p.Name != "type" && p.Value.ValueKind != JsonValueKind.Null))
        {
            function[property.Name] = JsonNode.Parse(property.Value.GetRawText());
        }

        return new JsonObject { ["type"] = "function", ["function"] = function };
    }

    /// <summary>Refuses unknown keys of a named choice (and of its function); true, so that it reads as a guard.</summary>
    private static bool CheckedChoice(JsonElement choice, bool flat)
    {
        if (flat)
        {
            RequestFieldPolicy.CheckKeys(choice, "tool_choice", "type", "name");
            return true;
        }

        RequestFieldPolicy.CheckKeys(choice, "tool_choice", "type", "function");
        if (choice.TryGetProperty("function", out var function))
        {
            RequestFieldPolicy.CheckKeys(function, "tool_choice.function", "name");
        }

        return true;
    }

    /// <summary>A named choice's function name: <c>tool_choice.name</c> (flat) or <c>tool_choice.function.name</c>; false when absent.</summary>
    private static bool NamedFunction(JsonElement choice, bool flat, out JsonElement name)
    {
        name = default;
        var holder = choice;
        return (flat || (choice.TryGetProperty("function", out holder) && holder.ValueKind == JsonValueKind.Object))
            && holder.TryGetProperty("name", out name) && name.ValueKind == JsonValueKind.String;
    }

    private static ApiProblemException Unenforceable(string what, OutputSchemaProblem problem, string param)
    {
        var where = problem.Path.Length > 0 ? $" at {problem.Path}" : "";
        return new ApiProblemException(ApiProblems.BadRequest(
            $"{what} cannot be enforced for a forced call ({problem.Keyword}{where}): {problem.Message}", "unsupported_schema", param));
    }

    private static (ToolMode Mode, string? Name) Choice(JsonElement choice, Dictionary<string, JsonElement?> functions, bool flat)
    {
        var named = flat ? "tool_choice.name" : "tool_choice.function.name";
        switch (choice.ValueKind)
        {
            case JsonValueKind.Undefined or JsonValueKind.Null:
                return (ToolMode.Auto, null);
            case JsonValueKind.String:
                return choice.GetString() switch
                {
                    "none" => (ToolMode.None, null),
                    "auto" => (ToolMode.Auto, null),
                    "required" => (ToolMode.Forced, null),
                    var other => throw Problem($"tool_choice '{other}' is not none, auto, required or a function.", "tool_choice"),
                };
            // Chat checks a named choice's keys first; the Responses API first tells a choice of a built-in tool by its type.
            case JsonValueKind.Object when (flat || CheckedChoice(choice, flat))
                && choice.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String && type.GetString() == "function"
                && (!flat || CheckedChoice(choice, flat)) && NamedFunction(choice, flat, out var name):
                return functions.ContainsKey(name.GetString()!)
                    ? (ToolMode.Forced, name.GetString())
                    : throw Problem($"tool_choice names '{name.GetString()}', which is not among the tools.", named);
            case JsonValueKind.Object when flat && choice.TryGetProperty("type", out var other) && other.ValueKind == JsonValueKind.String && other.GetString() != "function":
                throw new ApiProblemException(ApiProblems.BadRequest(
                    $"tool_choice type '{other.GetString()}' is not supported: TokenGrid serves function tools only.", "unsupported_parameter", "tool_choice.type"));
            default:
                throw Problem(
                    flat ? "tool_choice must be none, auto, required or {\"type\": \"function\", \"name\": ...}."
                         : "tool_choice must be none, auto, required or {\"type\": \"function\", \"function\": {\"name\": ...}}.",
                    "tool_choice");
        }
    }

    /// <summary>
    /// The schema of a forced call, as plain JSON: <c>{"name": ..., "arguments": {...}}</c> for one of the functions (a
    /// list of such calls too when several may be made in parallel; with <paramref name="listOnly"/>, only the list, of at
    /// most one call unless <paramref name="parallel"/>). Each function's <c>$defs</c> move to the root, so their
    /// references still resolve.
    /// </summary>
    private static string CallsOf(Dictionary<string, JsonElement?> functions, bool parallel, bool several, string argumentsKey = "arguments", bool listOnly = false)
    {
        var defs = new JsonObject();
        var calls = new JsonArray();
        foreach (var (name, parameters) in functions)
        {
            JsonNode arguments = parameters is { } p ? JsonNode.Parse(p.GetRawText())! : new JsonObject { ["type"] = "object", ["properties"] = new JsonObject() };
            if (arguments is JsonObject o)
            {
                foreach (var key in (string[])["$defs", "definitions"])
                {
                    if (o[key] is JsonObject found)
                    {
                        foreach (var (defName, def) in found.ToList())
                        {
                            found.Remove(defName);
                            defs[defName] = def;
                        }

                        o.Remove(key);
                    }
                }
            }

            calls.Add(new JsonObject
            {
                ["type"] = "object",
                ["properties"] = new JsonObject { ["name"] = new JsonObject { ["const"] = name }, [argumentsKey] = arguments },
                ["required"] = new JsonArray("name", argumentsKey),
                ["additionalProperties"] = false,
            });
        }

        JsonNode one = calls.Count == 1 ? calls[0]!.DeepClone() : new JsonObject { ["anyOf"] = calls.DeepClone() };
        var list = new JsonObject { ["type"] = "array", ["items"] = one.DeepClone(), ["minItems"] = 1 };
        if (!parallel)
        {
            list["maxItems"] = 1;
        }

        var root = listOnly ? list
            : parallel && several ? new JsonObject { ["anyOf"] = new JsonArray(one.DeepClone(), list) }
            : one.AsObject();
        if (defs.Count > 0)
        {
            root["$defs"] = defs;
        }

        // References written against a function's own root ("#/definitions/x") now point into the root's $defs.
        return root.ToJsonString().Replace("\"#/definitions/", "\"#/$defs/", StringComparison.Ordinal);
    }

    private static ApiProblemException Problem(string detail, string param) => new(ApiProblems.BadRequest(detail, "invalid_value", param));
}
