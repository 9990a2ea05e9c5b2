using System.Text.Json;
using TokenGrid.Silo.Problems;

namespace TokenGrid.Silo.OpenAi;

/// <summary>
/// What happens to a top-level request field that the request records do not declare: a few are accepted and ignored,
/// each for a stated reason; the OpenAI and vLLM fields TokenGrid does not implement are refused by name
/// (<c>unsupported_parameter</c>); anything else is refused as OpenAI refuses it, "Unrecognized request argument
/// supplied" (<c>unrecognized_argument</c>). A field given as <c>null</c> counts as absent, as OpenAI's SDKs mean it.
/// silo-config/README.md ("Request fields") holds the same table for people.
/// </summary>
internal static class RequestFieldPolicy
{
    /// <summary>Fields accepted and ignored, with why ignoring them changes nothing the caller can observe.</summary>
    public static readonly IReadOnlyDictionary<string, string> Ignored = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["store"] = "asks OpenAI to keep the completion for its dashboard; TokenGrid records every job anyway (GET /v1/jobs)",
        ["metadata"] = "tags for stored completions (store); TokenGrid has no completion store to tag",
        ["service_tier"] = "OpenAI's processing tier; TokenGrid schedules by the tenant's priority class (see priority)",
        ["prompt_cache_key"] = "a routing hint for OpenAI's prompt cache; TokenGrid's prefix cache and placement find shared prefixes by their tokens",
        ["safety_identifier"] = "an end-user id for OpenAI's abuse detection, which TokenGrid does not run (user is recorded)",
        ["stream_options.include_obfuscation"] = "asks OpenAI to pad chunks against length side channels; TokenGrid's chunks carry no padding",
    };

    /// <summary>Fields TokenGrid does not implement, refused with the reason (unless the value is the default, see <see cref="IsDefault"/>).</summary>
    public static readonly IReadOnlyDictionary<string, string> Refused = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["tools"] = "Tools are supported on chat completions only",
        ["tool_choice"] = "Tools are supported on chat completions only",
        ["parallel_tool_calls"] = "Tools are supported on chat completions only",
        ["functions"] = "Function calling is not supported",
        ["function_call"] = "Function calling is not supported",
        ["best_of"] = "best_of above 1 is not supported",
        ["suffix"] = "suffix (insertion) is not supported",
        ["audio"] = "Audio output is not supported",
        ["modalities"] = "Only the text modality is supported",
        ["prediction"] = "Predicted outputs are not supported",
        ["web_search_options"] = "Web search is not supported",
        ["reasoning_effort"] = "reasoning_effort is not supported: TokenGrid does not pass it to chat templates",
        ["verbosity"] = "verbosity is not supported: TokenGrid does not pass it to chat templates",
        ["prompt_logprobs"] = "Prompt log probabilities are not supported",
        ["use_beam_search"] = "Beam search is not supported",
        ["allowed_token_ids"] = "allowed_token_ids is not supported",
        ["bad_words"] = "bad_words is not supported",
        ["guided_json"] = "Guided decoding is not supported",
        ["guided_regex"] = "Guided decoding is not supported",
        ["guided_choice"] = "Guided decoding is not supported",
        ["guided_grammar"] = "Guided decoding is not supported",
        ["structured_outputs"] = "Guided decoding is not supported",
        ["chat_template"] = "Custom chat templates are not supported: the model's own template is used",
        ["chat_template_kwargs"] = "Chat template arguments are not supported",
        ["add_generation_prompt"] = "add_generation_prompt is not supported: the generation prompt is always added",
        ["continue_final_message"] = "continue_final_message is not supported",
    };

    /// <summary>Checks the fields of <paramref name="body"/> and of its <c>stream_options</c> that it does not declare.</summary>
    public static void Check(SamplingRequestBody body)
    {
        Check(body.OtherFields);
        if (body is GenerationRequestBody { StreamOptions: { } streamOptions } generation)
        {
            Check(streamOptions.OtherFields, "stream_options.");
            if (generation.Stream != true)
            {
                // As OpenAI and vLLM answer: options for a stream that is not asked for would be ignored.
                throw new ApiProblemException(ApiProblems.BadRequest(
                    "The 'stream_options' parameter is only allowed when 'stream' is enabled.", "invalid_value", "stream_options"));
            }
        }
    }

    /// <summary>
    /// Throws a 400 naming the first field of <paramref name="fields"/> that is neither accepted nor absent;
    /// <paramref name="prefix"/> names the object they belong to (<c>stream_options.</c>), empty at the top level.
    /// </summary>
    public static void Check(IReadOnlyDictionary<string, JsonElement>? fields, string prefix = "") =>
        Check(fields, Ignored, Refused, IsDefault, prefix);

    /// <summary>
    /// Throws a 400 naming the first field of <paramref name="fields"/> that is neither accepted nor absent, by another
    /// endpoint's lists (<see cref="ResponseFieldPolicy"/>): <paramref name="ignored"/> keep OpenAI's types as above,
    /// <paramref name="refused"/> are refused with their reason unless <paramref name="isDefault"/> says the value means
    /// "not used", and the rest is unrecognized.
    /// </summary>
    public static void Check(
        IReadOnlyDictionary<string, JsonElement>? fields,
        IReadOnlyDictionary<string, string> ignored,
        IReadOnlyDictionary<string, string> refused,
        Func<string, JsonElement, bool> isDefault,
        string prefix = "")
    {
        if (fields is null)
        {
            return;
        }

        foreach (var (name, value) in fields)
        {
            var param = prefix + name;
            if (value.ValueKind == JsonValueKind.Null || isDefault(param, value))
            {
                continue;
            }

            if (ignored.ContainsKey(param))
            {
                CheckIgnored(param, value);
                continue;
            }

            throw new ApiProblemException(refused.TryGetValue(param, out var reason)
                ? ApiProblems.BadRequest($"{reason} ({param}).", "unsupported_parameter", param)
                : ApiProblems.BadRequest($"Unrecognized request argument supplied: {param}", "unrecognized_argument", param));
        }
    }

    /// <summary>
    /// Throws a 400 (<c>unrecognized_argument</c>) naming the first property of the object <paramref name="value"/>, at
    /// <paramref name="path"/>, that is not one of <paramref name="known"/> and not null: a nested object's unknown key
    /// (a schema under <c>response_format</c> instead of <c>response_format.json_schema</c>, a typo) is refused as a
    /// top-level one is, never dropped. A value that is not an object is left to its field's own check.
    /// </summary>
    public static void CheckKeys(JsonElement value, string path, params ReadOnlySpan<string> known)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            return;
        }

        foreach (var property in value.EnumerateObject())
        {
            if (property.Value.ValueKind != JsonValueKind.Null && !known.Contains(property.Name))
            {
                var param = $"{path}.{property.Name}";
                throw new ApiProblemException(ApiProblems.BadRequest($"Unrecognized request argument supplied: {param}", "unrecognized_argument", param));
            }
        }
    }

    /// <summary>
    /// An ignored field still has OpenAI's type (a boolean <c>store</c>, an object of strings <c>metadata</c>, string
    /// hints): a value OpenAI would refuse is refused here too, 400 <c>invalid_type</c> naming it, so a client that works
    /// against TokenGrid does not fail against OpenAI, nor the other way round.
    /// </summary>
    private static void CheckIgnored(string param, JsonElement value)
    {
        if (param == "metadata" && value.ValueKind == JsonValueKind.Object)
        {
            foreach (var entry in value.EnumerateObject())
            {
                Expect($"metadata.{entry.Name}", entry.Value, entry.Value.ValueKind == JsonValueKind.String, "a string");
            }

            return;
        }

        var (fits, expected) = param switch
        {
            "store" or "stream_options.include_obfuscation" => (value.ValueKind is JsonValueKind.True or JsonValueKind.False, "a boolean"),
            "metadata" => (false, "an object"),
            _ => (value.ValueKind == JsonValueKind.String, "a string"),
        };
        Expect(param, value, fits, expected);
    }

    private static void Expect(string param, JsonElement value, bool fits, string expected)
    {
        if (!fits)
        {
            throw new ApiProblemException(ApiProblems.BadRequest(
                $"Invalid type for '{param}': expected {expected}, but got {Serving.JsonTypeMismatch.Describe(value)} instead.", "invalid_type", param));
        }
    }

    /// <summary>A refused field given with the value that means "not used", which is what TokenGrid does anyway.</summary>
    private static bool IsDefault(string param, JsonElement value) => param switch
    {
        "best_of" => value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var bestOf) && bestOf == 1,
        "modalities" => value.ValueKind == JsonValueKind.Array && value.GetArrayLength() == 1
            && value[0].ValueKind == JsonValueKind.String && value[0].GetString() == "text",
        _ => false,
    };
}
