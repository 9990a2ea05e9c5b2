using System.Text.Json;
using System.Text.Json.Serialization;
using TokenGrid.Abstractions.Billing;

namespace TokenGrid.Silo.Apis;

/// <summary>
/// Money in JSON as a decimal string in major units ("12.50", at most 6 decimals), read exactly and written with 6
/// decimals ("12.500000"). A number, an exponent or a 7th decimal is refused rather than rounded.
/// </summary>
internal sealed class MoneyJsonConverter : JsonConverter<Money>
{
    /// <inheritdoc/>
    public override Money Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.TokenType == JsonTokenType.String && Money.TryParse(reader.GetString(), out var money)
            ? money
            : throw new JsonException("An amount of money is a decimal string in major units with at most 6 decimals, such as \"12.50\".");

    /// <inheritdoc/>
    public override void Write(Utf8JsonWriter writer, Money value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStringValue(value.ToString());
    }
}
