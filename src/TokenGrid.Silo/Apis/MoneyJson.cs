using System.Text.Json;
using System.Text.Json.Serialization;
using TokenGrid.Abstractions.Billing;

namespace TokenGrid.Silo.Apis;

/// <summary>
/// Money in JSON as a decimal string in major units ("12.50", at most 6 decimals), read exactly and written with 6
/// decimals ("12.500000"). A number, an exponent, a 7th decimal or anything else <see cref="Money.TryParse"/> refuses is
/// refused rather than rounded; the request's problem is 400 <c>invalid_value</c> naming the field (<see cref="Serving.JsonTypeMismatch"/>).
/// </summary>
internal sealed class MoneyJsonConverter : JsonConverter<Money>
{
    /// <summary>What an amount must look like, for the problem that refuses one (see <see cref="Money.TryParse"/>).</summary>
    public const string Rule =
        "An amount of money is a decimal string in major units with at most 6 decimals, such as \"12.50\" or \"0.000001\": " +
        "no sign but a leading minus, no leading zeros, no exponent, digits on both sides of a point, at most 9,223,372,036,854.775807.";

    /// <inheritdoc/>
    public override Money Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.TokenType == JsonTokenType.String && Money.TryParse(reader.GetString(), out var money)
            ? money
            : throw new JsonException(Rule);

    /// <inheritdoc/>
    public override void Write(Utf8JsonWriter writer, Money value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStringValue(value.ToString());
    }
}
