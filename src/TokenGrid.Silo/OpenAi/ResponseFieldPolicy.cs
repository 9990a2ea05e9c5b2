using System.Text.Json;
using TokenGrid.Silo.Problems;

namespace TokenGrid.Silo.OpenAi;

/// <summary>
/// What <c>POST /v1/responses</c> does with a top-level field that <see cref="ResponseRequest"/> does not declare, by
/// the rules of <see cref="RequestFieldPolicy"/>: a few are accepted and ignored for a stated reason, the Responses API's
/// other fields are refused by name (<c>unsupported_parameter</c>) unless given with the value that means "not used",
/// and anything else is unrecognized. silo-config/README.md ("The Responses API") holds the same table for people.
/// </summary>
internal static class ResponseFieldPolicy
{
    /// <summary>Fields accepted and ignored, with why ignoring them changes nothing the caller can observe.</summary>
    public static readonly IReadOnlyDictionary<string, string> Ignored = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["metadata"] = "tags for stored responses (store): echoed on the response and kept with it, not searchable",
        ["service_tier"] = RequestFieldPolicy.Ignored["service_tier"],
        ["prompt_cache_key"] = RequestFieldPolicy.Ignored["prompt_cache_key"],
        ["safety_identifier"] = RequestFieldPolicy.Ignored["safety_identifier"],
    };

    /// <summary>The Responses API's fields TokenGrid does not implement, refused with the reason (unless the value is the default, see <see cref="IsDefault"/>).</summary>
    public static readonly IReadOnlyDictionary<string, string> Refused = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["max_tool_calls"] = "max_tool_calls is not supported: it limits calls to built-in tools, which TokenGrid does not serve (function calls are the caller's to run, and parallel_tool_calls false allows one a turn)",
        ["previous_response_id"] = "previous_response_id is not supported: send the whole conversation in input (a stored response's output items may be sent as item_reference)",
        ["conversation"] = "Conversations are not stored: send the whole conversation in input",
        ["reasoning"] = "reasoning is not supported: TokenGrid does not pass it to chat templates",
        ["background"] = "Background responses are not supported: POST /v1/jobs runs a job in the background",
        ["prompt"] = "Stored prompt templates are not supported: send the prompt in input and instructions",
        ["truncation"] = "Only truncation 'disabled' is supported: a conversation over the model's context is refused",
        ["stream_options"] = "stream_options is not supported on the Responses API",
        ["context_management"] = "Context management (compaction) is not supported",
        ["prompt_cache_retention"] = "prompt_cache_retention is not supported: TokenGrid's prefix cache keeps what its memory holds",
    };

    /// <summary>Checks the fields of <paramref name="request"/> that it does not declare.</summary>
    public static void Check(ResponseRequest request) =>
        RequestFieldPolicy.Check(request.OtherFields, Ignored, Refused, IsDefault);

    /// <summary>The one <c>include</c> value TokenGrid serves: the text's log probabilities.</summary>
    public const string OutputTextLogprobs = "message.output_text.logprobs";

    /// <summary>
    /// Whether <c>include</c> asks for the text's log probabilities; absent, null or empty asks for nothing. Any other
    /// value is a 400 naming its place (<c>include[i]</c>).
    /// </summary>
    public static bool IncludesLogprobs(JsonElement include)
    {
        if (include.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null)
        {
            return false;
        }

        if (include.ValueKind != JsonValueKind.Array)
        {
            throw new ApiProblemException(ApiProblems.BadRequest("include must be a list of strings.", "invalid_value", "include"));
        }

        var logprobs = false;
        var index = 0;
        foreach (var value in include.EnumerateArray())
        {
            var at = $"include[{index++}]";
            if (value.ValueKind != JsonValueKind.String)
            {
                throw new ApiProblemException(ApiProblems.BadRequest($"{at} must be a string.", "invalid_value", at));
            }

            logprobs = value.GetString() == OutputTextLogprobs
                ? true
                : throw new ApiProblemException(ApiProblems.BadRequest(
                    $"{at} '{value.GetString()}' is not supported: a response can include {OutputTextLogprobs} only (it has no built-in tools, images or reasoning to include).",
                    "unsupported_parameter", at));
        }

        return logprobs;
    }

    /// <summary>A refused field given with the value that means "not used", which is what TokenGrid does anyway.</summary>
    private static bool IsDefault(string param, JsonElement value) => param switch
    {
        "background" => value.ValueKind == JsonValueKind.False,
        "truncation" => value.ValueKind == JsonValueKind.String && value.GetString() == "disabled",
        _ => false,
    };
}
