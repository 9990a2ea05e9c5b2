using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using System.Text.RegularExpressions;
using TokenGrid.Abstractions.Billing;
using TokenGrid.Silo.Apis;
using TokenGrid.Silo.Problems;

namespace TokenGrid.Silo.Serving;

/// <summary>
/// Turns a body that is valid JSON but does not fit the request's types into OpenAI's answer: 400 <c>invalid_type</c>
/// naming the field (<c>messages[0].name</c>), with "Invalid type for 'max_tokens': expected an integer, but got a
/// boolean instead." A field an object does not declare (<see cref="UnknownFields"/>) is 400 <c>unrecognized_argument</c>,
/// "Unrecognized request argument supplied: budget.weigth". A body that is not JSON at all stays 400 <c>invalid_json</c>.
/// </summary>
/// <remarks>
/// System.Text.Json throws one <see cref="JsonException"/> for both, so the body is parsed once more, only after a
/// failure, to tell them apart; the expected type is read from the serializer's own metadata along the failure's path.
/// </remarks>
internal static partial class JsonTypeMismatch
{
    /// <summary>
    /// A body that is valid JSON nested deeper than the API reads (System.Text.Json's depth, 64 by default): refused with
    /// that reason, not as "not valid JSON", which a client could not act on. Null when the body is not JSON at any depth.
    /// </summary>
    private static ApiProblem? TooDeep(ReadOnlySpan<byte> body, JsonException failure, JsonSerializerOptions options)
    {
        try
        {
            using var deep = JsonDocument.Parse(body.ToArray(), new JsonDocumentOptions { AllowDuplicateProperties = false, MaxDepth = body.Length + 1 });
        }
        catch (JsonException)
        {
            return null;
        }

        var depth = options.MaxDepth is 0 ? 64 : options.MaxDepth;
        var param = failure.Path is { Length: > 2 } path && path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : null;
        return ApiProblems.BadRequest($"The request body nests values more than {depth} levels deep{(param is null ? "" : $" (at {param})")}, more than this API reads.", "invalid_value", param);
    }

    /// <summary>The problem for <paramref name="body"/>, which failed to deserialize as <typeparamref name="T"/> with <paramref name="failure"/>.</summary>
    public static ApiProblem Problem<T>(ReadOnlySpan<byte> body, JsonException failure, JsonSerializerOptions options)
    {
        var notJson = ApiProblems.InvalidJson(
            $"The request body is not valid JSON for this endpoint{(failure.Path is { } at ? $" (at {at})" : "")}.");
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body.ToArray(), new JsonDocumentOptions { AllowDuplicateProperties = false });
        }
        catch (JsonException)
        {
            return TooDeep(body, failure, options) ?? notJson;
        }

        using (document)
        {
            if (failure.Path is not { Length: > 2 } path || !path.StartsWith("$.", StringComparison.Ordinal))
            {
                return notJson;
            }

            var segments = Segments(path[2..]);
            var value = document.RootElement;
            var type = (Type?)typeof(T);
            foreach (var segment in segments)
            {
                if (!TryStep(ref value, segment))
                {
                    return notJson;
                }

                if (segment is string name && type is not null && UnknownFields.IsUnknown(type, name, options))
                {
                    var unknown = path[2..];
                    return ApiProblems.BadRequest($"Unrecognized request argument supplied: {unknown}", "unrecognized_argument", unknown);
                }

                type = type is null ? null : Metadata(() => Step(type, segment, options));
            }

            var param = path[2..];
            if (type is not null && (Nullable.GetUnderlyingType(type) ?? type) == typeof(Money) && value.ValueKind == JsonValueKind.String)
            {
                // The right kind of value, but not an amount the grammar allows (a 7th decimal, "1.", a leading zero, too large).
                return ApiProblems.BadRequest($"Invalid value for '{param}': {value.GetRawText()} is not an amount. {MoneyJsonConverter.Rule}", "invalid_value", param);
            }

            if (type is not null && (Nullable.GetUnderlyingType(type) ?? type) is { IsEnum: true } enumType && value.ValueKind == JsonValueKind.String)
            {
                // A name the enum does not have: say which it has, in the names the API uses.
                var names = string.Join(", ", Enum.GetNames(enumType).Select(n => JsonNamingPolicy.SnakeCaseLower.ConvertName(n)));
                return ApiProblems.BadRequest($"Invalid value for '{param}': {value.GetRawText()} is not one of {names}.", "invalid_value", param);
            }

            var expected = type is null ? null : Metadata(() => Describe(type, options));
            var actual = Describe(value);
            if (expected == actual || (expected == "a number" && value.ValueKind == JsonValueKind.Number))
            {
                // The right kind of value that the type cannot hold, such as 2^63 for an integer field.
                return ApiProblems.BadRequest($"Invalid value for '{param}': {value.GetRawText()} is out of range.", "invalid_value", param);
            }

            return ApiProblems.BadRequest(
                $"Invalid type for '{param}': {(expected is null ? "" : $"expected {expected}, but ")}got {actual} instead.",
                "invalid_type",
                param);
        }
    }

    /// <summary>What the serializer's metadata says, or null where it cannot say (a type it does not describe).</summary>
    private static TResult? Metadata<TResult>(Func<TResult?> read)
        where TResult : class
    {
        try
        {
            return read();
        }
        catch (Exception e) when (e is NotSupportedException or InvalidOperationException or ArgumentException)
        {
            return null;
        }
    }

    /// <summary><c>messages[0].name</c> as <c>messages</c>, <c>0</c>, <c>name</c> (indexes as ints).</summary>
    private static List<object> Segments(string path)
    {
        var segments = new List<object>();
        foreach (Match match in PathSegment().Matches(path))
        {
            segments.Add(match.Groups["index"].Success ? int.Parse(match.Groups["index"].Value, System.Globalization.CultureInfo.InvariantCulture)
                : match.Groups["quoted"].Success ? match.Groups["quoted"].Value
                : match.Groups["name"].Value);
        }

        return segments;
    }

    private static bool TryStep(ref JsonElement value, object segment)
    {
        switch (segment)
        {
            case int index when value.ValueKind == JsonValueKind.Array && index < value.GetArrayLength():
                value = value[index];
                return true;
            case string name when value.ValueKind == JsonValueKind.Object && value.TryGetProperty(name, out var property):
                value = property;
                return true;
            default:
                return false;
        }
    }

    /// <summary>The declared type one step down <paramref name="type"/>, or null where the metadata does not say.</summary>
    private static Type? Step(Type type, object segment, JsonSerializerOptions options)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (segment is int)
        {
            return type.IsArray ? type.GetElementType()
                : type.GetInterfaces().Append(type).FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IEnumerable<>))?.GetGenericArguments()[0];
        }

        var info = options.GetTypeInfo(type);
        return info.Kind == JsonTypeInfoKind.Object
            ? info.Properties.FirstOrDefault(p => p.Name == (string)segment)?.PropertyType
            : null;
    }

    private static string? Describe(Type type, JsonSerializerOptions options)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type == typeof(JsonElement))
        {
            return null;
        }

        // An enum's type code is its underlying integer's, but the API writes enums as strings; so is money.
        return type.IsEnum ? "a string" : type == typeof(Money) ? "a decimal string" : Type.GetTypeCode(type) switch
        {
            TypeCode.Boolean => "a boolean",
            TypeCode.String => "a string",
            TypeCode.Byte or TypeCode.SByte or TypeCode.Int16 or TypeCode.UInt16 or TypeCode.Int32 or TypeCode.UInt32
                or TypeCode.Int64 or TypeCode.UInt64 => "an integer",
            TypeCode.Single or TypeCode.Double or TypeCode.Decimal => "a number",
            _ => options.GetTypeInfo(type).Kind switch
            {
                JsonTypeInfoKind.Enumerable => "an array",
                JsonTypeInfoKind.Object or JsonTypeInfoKind.Dictionary => "an object",
                _ => null,
            },
        };
    }

    internal static string Describe(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => "a string",
        JsonValueKind.Number => value.GetRawText().AsSpan().IndexOfAny(".eE") < 0 ? "an integer" : "a decimal",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Array => "an array",
        JsonValueKind.Object => "an object",
        _ => "null",
    };

    /// <summary>One step of System.Text.Json's path: <c>name</c>, <c>['odd name']</c> or <c>[3]</c>.</summary>
    [GeneratedRegex(@"\['(?<quoted>(?:[^']|'')*)'\]|\[(?<index>\d+)\]|(?<name>[^.\[]+)")]
    private static partial Regex PathSegment();
}
