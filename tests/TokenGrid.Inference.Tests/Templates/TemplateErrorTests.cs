using System.Text.Json.Nodes;
using TokenGrid.Inference.Templates;

namespace TokenGrid.Inference.Tests.Templates;

/// <summary>Unsupported or invalid templates fail with the construct and its position; nothing renders silently.</summary>
public sealed class TemplateErrorTests
{
    private static readonly Dictionary<string, JsonNode?> NoVariables = [];

    [Theory]
    [InlineData("a\n  {% include 'x.jinja' %}", 2, 6, "{% include %}")]
    [InlineData("{% extends 'base' %}", 1, 4, "{% extends %}")]
    [InlineData("{% raw %}x{% endraw %}", 1, 4, "{% raw %}")]
    [InlineData("{{ 4 is divisibleby(2) }}", 1, 6, "test 'divisibleby'")]
    public void Unsupported_statements_and_tests_are_refused_at_parse_time(string source, int line, int column, string construct)
    {
        var e = Assert.Throws<TemplateUnsupportedException>(() => JinjaTemplate.Parse(source));
        Assert.Equal((line, column, construct), (e.Line, e.Column, e.Construct));
        Assert.Contains($"line {line}, column {column}", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{{ x | batch(2) }}", "filter 'batch'")]
    [InlineData("{{ 'a' | wordcount }}", "filter 'wordcount'")]
    [InlineData("{% if x is sameas %}{% endif %}", "test 'sameas'")]
    public void Unknown_filters_and_tests_are_unsupported_when_reached(string source, string construct)
    {
        var template = JinjaTemplate.Parse(source);
        var e = Assert.Throws<TemplateUnsupportedException>(() => template.Render(new Dictionary<string, JsonNode?> { ["x"] = new JsonArray(1, 2) }));
        Assert.Equal(construct, e.Construct);
    }

    [Theory]
    [InlineData("{% if x %}", "{% endif %}")]
    [InlineData("{% for a in b %}x", "{% endfor %}")]
    [InlineData("{{ 'unterminated }}", null)]
    [InlineData("{{ x ! y }}", null)]
    [InlineData("{% endif %}", null)]
    public void Syntax_errors_say_where(string source, string? missing)
    {
        var e = Assert.Throws<TemplateSyntaxException>(() => JinjaTemplate.Parse(source));
        Assert.Equal(1, e.Line);
        if (missing is not null)
        {
            Assert.Contains(missing, e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Runtime_errors_name_the_line_and_construct()
    {
        var template = JinjaTemplate.Parse("line one\n{{ 'a' ~ 'b' }}{{ missing + 1 }}");
        var e = Assert.Throws<TemplateRuntimeException>(() => template.Render(NoVariables));
        Assert.Equal((2, 27, "operator '+'"), (e.Line, e.Column, e.Construct));
        Assert.Contains("undefined", e.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Positions_refer_to_the_original_source_after_whitespace_control()
    {
        var template = JinjaTemplate.Parse("{% if true %}\n    {%- for c in 'abc' %}{% endfor %}\n{% endif %}");
        var e = Assert.Throws<TemplateRuntimeException>(() => template.Render(NoVariables));
        Assert.Equal((2, 9), (e.Line, e.Column)); // the "for" keyword, in the original text
    }

    [Fact]
    public void Raise_exception_is_a_distinct_exception_with_the_templates_message()
    {
        var template = JinjaTemplate.Parse("{% if true %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}");
        var e = Assert.Throws<TemplateRaisedException>(() => template.Render(NoVariables));
        Assert.Equal("Only user and assistant roles are supported!", e.TemplateMessage);
        Assert.Equal("raise_exception", e.Construct);
    }

    [Fact]
    public void Functions_cannot_be_printed_and_sort_keys_is_refused()
    {
        Assert.Throws<TemplateUnsupportedException>(() => JinjaTemplate.Parse("{{ range }}").Render(NoVariables));
        Assert.Throws<TemplateUnsupportedException>(() => JinjaTemplate.Parse("{{ {'b': 1} | tojson(sort_keys=true) }}").Render(NoVariables));
        Assert.Throws<TemplateUnsupportedException>(() => JinjaTemplate.Parse("{{ strftime_now('%Z') }}").Render(NoVariables));
    }

    [Fact]
    public void Variables_may_not_replace_globals()
    {
        var template = JinjaTemplate.Parse("{{ x }}");
        Assert.Throws<ArgumentException>(() => template.Render(new Dictionary<string, JsonNode?> { ["range"] = 1 }));
    }
}
