using TokenGrid.Inference.Tools;

namespace TokenGrid.Inference.Tests.Tools;

/// <summary>Hand-written outputs in each syntax: what is a call, what is content, and that streaming agrees.</summary>
public sealed class ToolCallParserTests
{
    private const string Weather = """{"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}""";
    private const string WeatherArgs = """{"city":"Paris","unit":"celsius"}""";
    private const string Time = """{"name": "get_time", "arguments": {"zone": "UTC"}}""";
    private const string TimeArgs = """{"zone":"UTC"}""";

    private static readonly Case[] s_cases =
    [
        // Hermes (Qwen).
        new("hermes call", ToolCallSyntax.Hermes, $"<tool_call>\n{Weather}\n</tool_call>", null, ("get_weather", WeatherArgs)),
        new("hermes content before", ToolCallSyntax.Hermes, $"Let me check.\n<tool_call>\n{Weather}\n</tool_call>", "Let me check.", ("get_weather", WeatherArgs)),
        new("hermes two calls", ToolCallSyntax.Hermes, $"<tool_call>\n{Weather}\n</tool_call>\n<tool_call>\n{Time}\n</tool_call>\n", null, ("get_weather", WeatherArgs), ("get_time", TimeArgs)),
        new("hermes text after", ToolCallSyntax.Hermes, $"  <tool_call>{Weather}</tool_call>\n\nDone <b>.\n", "Done <b>.\n", ("get_weather", WeatherArgs)),
        new("hermes invalid json", ToolCallSyntax.Hermes, "Hi <tool_call>\n{\"name\": \"f\", \"arguments\": {\"a\": }\n</tool_call> bye", "Hi <tool_call>\n{\"name\": \"f\", \"arguments\": {\"a\": }\n</tool_call> bye"),
        new("hermes valid then invalid", ToolCallSyntax.Hermes, $"<tool_call>\n{Weather}\n</tool_call>\n<tool_call>\n{{\"name\": 1}}\n</tool_call>", "<tool_call>\n{\"name\": 1}\n</tool_call>", ("get_weather", WeatherArgs)),
        new("hermes no call", ToolCallSyntax.Hermes, "1 < 2, <tool> and <tool_call is not a tag.\n", "1 < 2, <tool> and <tool_call is not a tag.\n"),
        new("hermes white space only", ToolCallSyntax.Hermes, " \n ", " \n "),
        new("hermes unclosed last call", ToolCallSyntax.Hermes, $"<tool_call>\n{Weather}\n", null, ("get_weather", WeatherArgs)),
        // A whole call followed by another opening before its closing tag ends there (as a constrained model writes them).
        new("hermes next opening ends a whole call", ToolCallSyntax.Hermes, $"<tool_call>{Weather}\n<tool_call>\n{Time}</tool_call>", null, ("get_weather", WeatherArgs), ("get_time", TimeArgs)),
        new("hermes next opening in an unfinished call", ToolCallSyntax.Hermes, "<tool_call>{\"name\": \"f\", \"arguments\": {\"s\": \"<tool_call>\"}}</tool_call>", null, ("f", "{\"s\":\"<tool_call>\"}")),
        // With parallel calls the reply is free once a call is complete: text may follow it instead of the closing tag.
        new("hermes whole call then text", ToolCallSyntax.Hermes, $"<tool_call>\n{Weather} and then some text", "and then some text", ("get_weather", WeatherArgs)),
        new("hermes whole call, text, unclosed call", ToolCallSyntax.Hermes, $"<tool_call>{Weather}\nok <tool_call>{Time}", "ok", ("get_weather", WeatherArgs), ("get_time", TimeArgs)),
        new("hermes unfinished call then text", ToolCallSyntax.Hermes, "<tool_call>{\"name\": \"f\", \"arguments\": {} and text", "<tool_call>{\"name\": \"f\", \"arguments\": {} and text"),
        new("hermes truncated call", ToolCallSyntax.Hermes, "x <tool_call>\n{\"name\": \"get_wea", "x <tool_call>\n{\"name\": \"get_wea"),
        // Non-ASCII text is kept as it is, except outside the Basic Multilingual Plane, which System.Text.Json's
        // relaxed encoder still escapes (the same string once decoded).
        new("hermes unicode", ToolCallSyntax.Hermes, "<tool_call>{\"name\": \"book\", \"arguments\": {\"city\": \"Zürich\", \"note\": \"東京 — «ok» 😀\", \"esc\": \"\\u00e9\\n\"}}</tool_call>", null, ("book", "{\"city\":\"Zürich\",\"note\":\"東京 — «ok» \\uD83D\\uDE00\",\"esc\":\"é\\n\"}")),
        new("hermes arguments as a string", ToolCallSyntax.Hermes, "<tool_call>{\"name\": \"f\", \"arguments\": \"{\\\"a\\\": [1, 2.50]}\"}</tool_call>", null, ("f", "{\"a\":[1,2.50]}")),
        new("hermes no arguments", ToolCallSyntax.Hermes, "<tool_call>{\"name\": \"now\"}</tool_call>", null, ("now", "{}")),
        new("hermes arguments not an object", ToolCallSyntax.Hermes, "<tool_call>{\"name\": \"f\", \"arguments\": [1]}</tool_call>", "<tool_call>{\"name\": \"f\", \"arguments\": [1]}</tool_call>"),
        new("hermes overlapping opening", ToolCallSyntax.Hermes, $"a <<tool_call>{Time}</tool_call>", "a <", ("get_time", TimeArgs)),
        new("hermes duplicate key", ToolCallSyntax.Hermes, "<tool_call>{\"name\": \"f\", \"name\": \"g\"}</tool_call>", "<tool_call>{\"name\": \"f\", \"name\": \"g\"}</tool_call>"),
        new("hermes bad arguments string", ToolCallSyntax.Hermes, "<tool_call>{\"name\": \"f\", \"arguments\": \"{oops\"}</tool_call>", "<tool_call>{\"name\": \"f\", \"arguments\": \"{oops\"}</tool_call>"),
        new("hermes openai shape", ToolCallSyntax.Hermes, "<tool_call>{\"type\": \"function\", \"function\": {\"name\": \"f\", \"arguments\": {}}}</tool_call>", null, ("f", "{}")),

        // Llama 3.x JSON.
        new("llama call", ToolCallSyntax.Llama3Json, "{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\", \"unit\": \"celsius\"}}", null, ("get_weather", WeatherArgs)),
        new("llama python tag", ToolCallSyntax.Llama3Json, $"<|python_tag|>{Weather}", null, ("get_weather", WeatherArgs)),
        new("llama two calls", ToolCallSyntax.Llama3Json, $"\n{Weather}; {Time}\n", null, ("get_weather", WeatherArgs), ("get_time", TimeArgs)),
        new("llama call then text", ToolCallSyntax.Llama3Json, $"{Weather} ; and then {{ more", "; and then { more", ("get_weather", WeatherArgs)),
        new("llama json that is not a call", ToolCallSyntax.Llama3Json, " {\"answer\": \"{42}\"} ", " {\"answer\": \"{42}\"} "),
        new("llama text before json", ToolCallSyntax.Llama3Json, $"Sure: {Weather}", $"Sure: {Weather}"),
        new("llama python code", ToolCallSyntax.Llama3Json, "<|python_tag|>brave_search.call(query=\"x\")", "<|python_tag|>brave_search.call(query=\"x\")"),
        new("llama invalid json", ToolCallSyntax.Llama3Json, "{\"name\": \"f\", \"parameters\": {\"a\": tru}}", "{\"name\": \"f\", \"parameters\": {\"a\": tru}}"),
        new("llama unfinished", ToolCallSyntax.Llama3Json, "<|python_tag|>{\"name\": \"f\", \"par", "<|python_tag|>{\"name\": \"f\", \"par"),
        new("llama tag prefix", ToolCallSyntax.Llama3Json, "<|pyt", "<|pyt"),

        // Mistral.
        new("mistral calls", ToolCallSyntax.Mistral, $"[TOOL_CALLS][{Weather[..^1]}, \"id\": \"abcdefghi\"}}, {Time}]", null, ("get_weather", WeatherArgs), ("get_time", TimeArgs)),
        new("mistral content before", ToolCallSyntax.Mistral, $"Checking [the] weather.\n[TOOL_CALLS] [{Weather}]", "Checking [the] weather.", ("get_weather", WeatherArgs)),
        new("mistral single object", ToolCallSyntax.Mistral, $"[TOOL_CALLS]{Weather}", null, ("get_weather", WeatherArgs)),
        new("mistral brackets in strings", ToolCallSyntax.Mistral, "[[TOOL_CALLS][{\"name\": \"f\", \"arguments\": {\"q\": \"a \\\"]}\\\" b\\\\\"}}]", "[", ("f", "{\"q\":\"a \\\"]}\\\" b\\\\\"}")),
        new("mistral newer form", ToolCallSyntax.Mistral, "Sure.[TOOL_CALLS]get_weather[ARGS]{\"city\": \"Paris\", \"unit\": \"celsius\"}[TOOL_CALLS]get_time{\"zone\": \"UTC\"}", "Sure.", ("get_weather", WeatherArgs), ("get_time", TimeArgs)),
        new("mistral newer then older form", ToolCallSyntax.Mistral, $"[TOOL_CALLS]get.time-2[ARGS]{{}}\n[TOOL_CALLS][{Weather}]", null, ("get.time-2", "{}"), ("get_weather", WeatherArgs)),
        new("mistral newer form broken tag", ToolCallSyntax.Mistral, "[TOOL_CALLS]f[ARG]{}", "[TOOL_CALLS]f[ARG]{}"),
        new("mistral newer form array arguments", ToolCallSyntax.Mistral, "[TOOL_CALLS]f[ARGS][1] x", "[TOOL_CALLS]f[ARGS][1] x"),
        new("mistral newer form unfinished", ToolCallSyntax.Mistral, "[TOOL_CALLS]get_wea", "[TOOL_CALLS]get_wea"),
        new("mistral invalid", ToolCallSyntax.Mistral, "[TOOL_CALLS][{\"name\": \"f\", ]", "[TOOL_CALLS][{\"name\": \"f\", ]"),
        new("mistral text after opening", ToolCallSyntax.Mistral, "[TOOL_CALLS] hello", "[TOOL_CALLS] hello"),
        new("mistral one bad element", ToolCallSyntax.Mistral, $"[TOOL_CALLS][{Weather}, {{\"id\": 1}}]", $"[TOOL_CALLS][{Weather}, {{\"id\": 1}}]"),

        // Plain JSON.
        new("plain object", ToolCallSyntax.PlainJson, Weather, null, ("get_weather", WeatherArgs)),
        new("plain array", ToolCallSyntax.PlainJson, $" [{Weather},{Time}] ", null, ("get_weather", WeatherArgs), ("get_time", TimeArgs)),
        new("plain empty array", ToolCallSyntax.PlainJson, "[]", "[]"),
        new("plain not a call", ToolCallSyntax.PlainJson, "{\"name\": 5}", "{\"name\": 5}"),
        new("plain text", ToolCallSyntax.PlainJson, "Hello {world}", "Hello {world}"),

        // DeepSeek V3.
        new("deepseek single unclosed", ToolCallSyntax.DeepSeekV3, "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{\"city\": \"Paris\", \"unit\": \"celsius\"}\n```<｜tool▁call▁end｜>", null, ("get_weather", WeatherArgs)),
        new("deepseek two closed", ToolCallSyntax.DeepSeekV3, "Let me see.<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{\"city\": \"Paris\", \"unit\": \"celsius\"}\n```<｜tool▁call▁end｜>\n<｜tool▁call▁begin｜>function<｜tool▁sep｜>get_time\n```json\n{\"zone\": \"UTC\"}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>", "Let me see.", ("get_weather", WeatherArgs), ("get_time", TimeArgs)),
        new("deepseek invalid", ToolCallSyntax.DeepSeekV3, "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>f\n```json\n{oops}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>", "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>f\n```json\n{oops}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>"),
    ];

    public static TheoryData<string> Names => [.. s_cases.Select(c => c.Name)];

    [Theory]
    [MemberData(nameof(Names))]
    public void Output_parses_to_the_expected_content_and_calls(string name)
    {
        var c = s_cases.Single(x => x.Name == name);
        var parse = ToolCallParser.Parse(c.Syntax, c.Output);
        Assert.Equal(c.Content, parse.Content);
        Assert.Equal(c.Calls.Select(x => new ParsedToolCall(x.Name, x.Arguments)), parse.Calls);
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Every_split_of_the_output_streams_to_the_same_result(string name)
    {
        var c = s_cases.Single(x => x.Name == name);
        ToolCallSplits.AssertEverySplitAgrees(c.Syntax, c.Output);
    }

    [Fact]
    public void Content_is_released_as_soon_as_it_cannot_open_a_call()
    {
        var stream = new ToolCallStream(ToolCallSyntax.Hermes);
        Assert.Equal([new ContentDelta("Hello")], stream.Push("Hello"));
        Assert.Empty(stream.Push(" <tool"));
        Assert.Equal([new ContentDelta(" <tools")], stream.Push("s"));
        Assert.Empty(stream.Push("\n<tool_call>{\"name\": \"f\", "));
        Assert.Equal([new ToolCallStartDelta(0, "f"), new ToolCallArgumentsDelta(0, "{}")], stream.Push("\"arguments\": {}}</tool_call>"));
        Assert.Empty(stream.Push("\n"));
        Assert.Empty(stream.Finish());
        Assert.Throws<InvalidOperationException>(() => stream.Push("x"));
    }

    [Fact]
    public void Detect_reads_the_syntax_from_the_template_text()
    {
        Assert.Equal(ToolCallSyntax.Hermes, ToolCallFormats.Detect("{{- '<tool_call>\\n' }}"));
        Assert.Equal(ToolCallSyntax.Mistral, ToolCallFormats.Detect("{{- \"[TOOL_CALLS][\" }}"));
        Assert.Equal(ToolCallSyntax.DeepSeekV3, ToolCallFormats.Detect("{{'<｜tool▁calls▁begin｜>'}}"));
        Assert.Equal(ToolCallSyntax.Llama3Json, ToolCallFormats.Detect("{{- '<|python_tag|>' }}"));
        Assert.Equal(ToolCallSyntax.PlainJson, ToolCallFormats.Detect("{{ messages[0].content }}"));
        Assert.Equal(ToolCallSyntax.PlainJson, ToolCallFormats.Detect(null));
        Assert.Null(ToolCallFormats.Opening(ToolCallSyntax.PlainJson));
        Assert.Equal("<tool_call>", ToolCallFormats.Opening(ToolCallSyntax.Hermes));
    }

    private sealed record Case(string Name, ToolCallSyntax Syntax, string Output, string? Content, params (string Name, string Arguments)[] Calls);
}
