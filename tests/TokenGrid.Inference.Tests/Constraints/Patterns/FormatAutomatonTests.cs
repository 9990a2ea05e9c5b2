using System.Text.Json;
using Json.Schema;
using TokenGrid.Inference.Constraints;

namespace TokenGrid.Inference.Tests.Constraints.Patterns;

/// <summary>Every string a format's automaton accepts must be valid for JsonSchema.Net 8.0.5 with format assertion on.</summary>
public sealed class FormatAutomatonTests
{
    private static readonly EvaluationOptions AssertFormats = new() { RequireFormatValidation = true };

    public static TheoryData<string> Formats => new("date", "date-time", "time", "uuid", "email", "uri", "ipv4", "hostname");

    [Theory]
    [MemberData(nameof(Formats))]
    public void Every_walk_to_acceptance_is_valid_for_JsonSchema_Net(string format)
    {
        var automaton = PatternAutomaton.ForFormat(format);
        var schema = SchemaFor(format);
        var random = new Random(format.Aggregate(17, (seed, c) => unchecked((seed * 31) + c)));
        for (var i = 0; i < 2000; i++)
        {
            var text = AutomatonWalker.Walk(automaton, random, maxFreeSteps: 80);
            Assert.True(IsValid(schema, text), $"format {format}: the automaton accepted \"{text}\", JsonSchema.Net does not");
        }
    }

    [Theory]
    [InlineData("date", "2024-02-28")]
    [InlineData("date", "1999-12-01")]
    [InlineData("date", "2024-02-29")]
    [InlineData("date", "2000-02-29")]
    [InlineData("date", "2024-03-31")]
    [InlineData("date-time", "2024-02-29T23:59:59.123456789-23:59")]
    [InlineData("date-time", "2024-02-28T13:45:00Z")]
    [InlineData("date-time", "2024-02-28T13:45:00.123+02:00")]
    [InlineData("time", "13:45:00Z")]
    [InlineData("time", "23:59:59.5-05:30")]
    [InlineData("uuid", "123e4567-e89b-12d3-a456-426614174000")]
    [InlineData("email", "jane.doe@example.com")]
    [InlineData("email", "ops+alerts@mail.example.org")]
    [InlineData("uri", "https://example.com/path/to?q=1&x=y#top")]
    [InlineData("uri", "http://localhost:8080/")]
    [InlineData("ipv4", "192.168.0.1")]
    [InlineData("ipv4", "255.255.255.255")]
    [InlineData("hostname", "api.example.com")]
    public void Obviously_valid_values_are_accepted(string format, string value)
    {
        Assert.True(IsValid(SchemaFor(format), value), "the reference itself rejects the example");
        Assert.True(AutomatonWalker.Accepts(PatternAutomaton.ForFormat(format), value));
    }

    [Theory]
    [InlineData("date", "2024-13-01")]
    [InlineData("date", "2023-02-29")]
    [InlineData("date", "1900-02-29")]
    [InlineData("date", "2024-04-31")]
    [InlineData("date", "0000-01-01")]
    [InlineData("time", "13:45:00")]
    [InlineData("uuid", "123e4567-e89b-12d3-a456")]
    [InlineData("ipv4", "256.1.1.1")]
    [InlineData("email", "not an email")]
    public void Invalid_values_are_refused_by_both(string format, string value)
    {
        Assert.False(IsValid(SchemaFor(format), value), "the reference does not assert formats: the walks prove nothing");
        Assert.False(AutomatonWalker.Accepts(PatternAutomaton.ForFormat(format), value));
    }

    [Fact]
    public void Dates_agree_with_JsonSchema_Net_on_every_day_of_years_around_leap_rules()
    {
        var automaton = PatternAutomaton.ForFormat("date");
        var schema = SchemaFor("date");
        int[] years = [1, 4, 100, 400, 1899, 1900, 1904, 1999, 2000, 2001, 2023, 2024, 2100, 2400, 9996, 9999];
        var accepted = 0;
        foreach (var year in years)
        {
            for (var month = 0; month <= 13; month++)
            {
                for (var day = 0; day <= 32; day++)
                {
                    var text = $"{year:D4}-{month:D2}-{day:D2}";
                    var valid = IsValid(schema, text);
                    Assert.True(valid == AutomatonWalker.Accepts(automaton, text), $"{text}: JsonSchema.Net says {valid}");
                    accepted += valid ? 1 : 0;
                }
            }
        }

        Assert.Equal((9 * 365) + (7 * 366), accepted); // 4, 400, 1904, 2000, 2024, 2400 and 9996 are leap years
    }

    [Fact]
    public void An_unknown_format_is_refused_naming_format()
    {
        var error = Assert.Throws<ConstraintException>(() => PatternAutomaton.ForFormat("credit-card"));
        Assert.Equal("format", error.Keyword);
    }

    [Fact]
    public void A_format_and_a_pattern_intersect()
    {
        var automaton = PatternAutomaton.ForFormat("uuid").Intersect(PatternAutomaton.Compile("^0"));
        var schema = SchemaFor("uuid");
        var random = new Random(3);
        for (var i = 0; i < 200; i++)
        {
            var text = AutomatonWalker.Walk(automaton, random);
            Assert.True(text.StartsWith('0') && IsValid(schema, text), text);
        }
    }

    private static JsonSchema SchemaFor(string format) =>
        JsonSchema.FromText(JsonSerializer.Serialize(new { type = "string", format }));

    private static bool IsValid(JsonSchema schema, string value)
    {
        using var document = JsonDocument.Parse(JsonSerializer.Serialize(value));
        return schema.Evaluate(document.RootElement, AssertFormats).IsValid;
    }
}
