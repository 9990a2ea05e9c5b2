using System.Text.Json;

namespace TokenGrid.Inference.Constraints;

/// <summary>Numeric keywords: <c>minimum</c>, <c>maximum</c>, their exclusive forms, <c>multipleOf</c>.</summary>
internal sealed partial class JsonSchemaCompiler
{
    private static NumberBounds Bounds(JsonElement schema, bool integer, string pointer)
    {
        if (schema.TryGetProperty("multipleOf", out var multiple) && !(integer && multiple.ValueKind == JsonValueKind.Number && multiple.GetDouble() == 1))
        {
            throw new ConstraintException("multipleOf", "The keyword 'multipleOf' is not supported in structured outputs.", pointer);
        }

        var (min, minExclusive) = Bound(schema, "minimum", "exclusiveMinimum", pointer);
        var (max, maxExclusive) = Bound(schema, "maximum", "exclusiveMaximum", pointer);
        return new NumberBounds(integer, min, minExclusive, max, maxExclusive);
    }

    private static (decimal? Value, bool Exclusive) Bound(JsonElement schema, string inclusive, string exclusive, string pointer)
    {
        decimal? value = schema.TryGetProperty(inclusive, out var v) ? Clamp(v, inclusive, pointer) : null;
        if (!schema.TryGetProperty(exclusive, out var e))
        {
            return (value, false);
        }

        if (e.ValueKind is JsonValueKind.True or JsonValueKind.False)
        {
            return (value, e.ValueKind == JsonValueKind.True); // draft 4: a flag on the inclusive bound
        }

        var strict = Clamp(e, exclusive, pointer);
        var lower = inclusive == "minimum";
        return value is { } both && (lower ? both > strict : both < strict) ? (both, false) : (strict, true);
    }

    private static decimal Clamp(JsonElement value, string keyword, string pointer)
    {
        if (value.ValueKind != JsonValueKind.Number)
        {
            throw new ConstraintException(keyword, $"'{keyword}' must be a number.", pointer);
        }

        var d = value.GetDouble();
        return d > 1e20 ? 100_000_000_000_000_000_000m : d < -1e20 ? -100_000_000_000_000_000_000m
            : value.TryGetDecimal(out var exact) ? exact : (decimal)d;
    }
}
