using System.Text.Json.Nodes;
using TokenGrid.Inference.Templates;

namespace TokenGrid.Inference.Tests.Templates;

/// <summary>
/// Byte-for-byte parity with @huggingface/jinja 0.5.11: every recorded case (real templates of several model
/// families, and our own templates that exercise each supported construct) renders to the recorded text, raises the
/// recorded <c>raise_exception</c> message, or fails where the reference failed.
/// </summary>
public sealed class TemplateParityTests
{
    public static TheoryData<string> CaseIds()
    {
        var data = new TheoryData<string>();
        foreach (var c in TemplateFixtures.Cases)
        {
            data.Add(Id(c!));
        }

        return data;
    }

    [Fact]
    public void Fixtures_cover_at_least_six_real_families_and_our_own_templates()
    {
        var families = TemplateFixtures.Cases.Select(c => c!["family"]!.GetValue<string>()).Distinct().ToList();
        Assert.True(families.Count(f => f != "own") >= 6, string.Join(", ", families));
        Assert.Contains("own", families);
    }

    [Theory]
    [MemberData(nameof(CaseIds))]
    public void Renders_like_the_reference(string id)
    {
        var c = TemplateFixtures.Cases.Single(x => Id(x!) == id)!;
        var clock = new FixedClock(TemplateFixtures.Now);
        Func<string> render = c["family"]!.GetValue<string>() == "own" ? () => RenderOwn(c, clock) : () => RenderFamily(c, clock);

        if (c["output"] is { } expected)
        {
            AssertSameText(id, expected.GetValue<string>(), render());
        }
        else if (c["raised"] is { } raised)
        {
            var e = Assert.Throws<TemplateRaisedException>(render);
            Assert.Equal(raised.GetValue<string>(), e.TemplateMessage);
        }
        else
        {
            var e = Assert.ThrowsAny<TemplateException>(render);
            Assert.True(e.Line >= 1 && e.Column >= 1, e.Message);
        }
    }

    private static string RenderFamily(JsonNode c, TimeProvider clock)
    {
        var family = c["family"]!.GetValue<string>();
        var conversation = TemplateFixtures.Fixture["conversations"]![c["conversation"]!.GetValue<string>()]!;
        var templates = ChatTemplateSet.Load(TemplateFixtures.ModelDirectory(family))
            ?? throw new InvalidOperationException($"{family} has no chat template");
        var options = new ChatPromptOptions { ParseToolCallArguments = conversation["parseArguments"]?.GetValue<bool>() ?? false };
        var renderer = new ChatPromptRenderer(templates, options, clock);
        var variables = conversation["variables"]?.AsObject().ToDictionary(p => p.Key, p => p.Value?.DeepClone());
        return renderer.Render(
            conversation["messages"]!.AsArray().Select(m => m!).ToList(),
            conversation["tools"]?.AsArray().Select(t => t!).ToList(),
            c["addGenerationPrompt"]!.GetValue<bool>(),
            variables);
    }

    private static string RenderOwn(JsonNode c, TimeProvider clock)
    {
        var source = File.ReadAllText(Path.Combine(TemplateFixtures.FixtureDirectory, "own", c["template"]!.GetValue<string>()));
        var context = TemplateFixtures.Fixture["ownContext"]!.AsObject().ToDictionary(p => p.Key, p => p.Value?.DeepClone());
        return JinjaTemplate.Parse(source).Render(context, clock);
    }

    private static string Id(JsonNode c) =>
        $"{c["family"]}/{c["template"]?.GetValue<string>() ?? c["conversation"]!.GetValue<string>()}/{(c["addGenerationPrompt"]!.GetValue<bool>() ? "gen" : "nogen")}";

    private static void AssertSameText(string id, string expected, string actual)
    {
        if (expected == actual)
        {
            return;
        }

        var at = 0;
        while (at < expected.Length && at < actual.Length && expected[at] == actual[at])
        {
            at++;
        }

        static string Around(string s, int i) =>
            System.Text.Json.JsonSerializer.Serialize(s.Substring(Math.Max(0, i - 40), Math.Min(s.Length, i + 40) - Math.Max(0, i - 40)));
        Assert.Fail($"{id}: output differs at position {at} (expected length {expected.Length}, actual {actual.Length})\n" +
            $"  expected: …{Around(expected, at)}…\n  actual:   …{Around(actual, at)}…");
    }
}
