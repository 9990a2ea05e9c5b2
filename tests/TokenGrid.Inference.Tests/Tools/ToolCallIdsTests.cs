using System.Text.Json.Nodes;
using TokenGrid.Inference.Tools;

namespace TokenGrid.Inference.Tests.Tools;

/// <summary>Tool-call ids in the shape each template accepts: 9 letters and digits for Mistral, OpenAI's elsewhere.</summary>
public sealed class ToolCallIdsTests
{
    [Fact]
    public void Mistral_ids_are_9_letters_and_digits_and_others_are_OpenAI_ids()
    {
        var mistral = ToolCallIds.New(ToolCallSyntax.Mistral);
        Assert.Matches("^[A-Za-z0-9]{9}$", mistral);
        Assert.NotEqual(mistral, ToolCallIds.New(ToolCallSyntax.Mistral));
        foreach (var syntax in new[] { ToolCallSyntax.Hermes, ToolCallSyntax.Llama3Json, ToolCallSyntax.DeepSeekV3, ToolCallSyntax.PlainJson })
        {
            Assert.Matches("^call_[A-Za-z0-9]{24}$", ToolCallIds.New(syntax));
        }
    }

    [Theory]
    [InlineData("abc123XYZ", "abc123XYZ")] // already a Mistral id
    [InlineData("call_NtsBU7zZFaI85rorlbIDfXQy", "rlbIDfXQy")] // OpenAI's: its last 9 characters, as vLLM truncates
    [InlineData("chatcmpl-tool-8f0e2c1d4b5a46e7", "d4b5a46e7")]
    public void Foreign_ids_map_to_their_last_9_characters(string id, string expected) =>
        Assert.Equal(expected, ToolCallIds.ForTemplate(id, ToolCallSyntax.Mistral));

    [Theory]
    [InlineData("call_1")]
    [InlineData("toolu-01_ab-cd_ef")]
    [InlineData("abc-12345")]
    public void Other_ids_map_to_9_letters_and_digits_the_same_each_time(string id)
    {
        var mapped = ToolCallIds.ForTemplate(id, ToolCallSyntax.Mistral);
        Assert.Matches("^[A-Za-z0-9]{9}$", mapped);
        Assert.Equal(mapped, ToolCallIds.ForTemplate(id, ToolCallSyntax.Mistral));
        Assert.NotEqual(mapped, ToolCallIds.ForTemplate(id + "x", ToolCallSyntax.Mistral));
    }

    [Fact]
    public void Only_Mistral_changes_ids_and_a_call_and_its_result_change_alike()
    {
        Assert.Equal("call_1", ToolCallIds.ForTemplate("call_1", ToolCallSyntax.Hermes));
        var assistant = new JsonObject
        {
            ["role"] = "assistant",
            ["tool_calls"] = new JsonArray(new JsonObject { ["id"] = "call_1", ["function"] = new JsonObject { ["name"] = "f", ["arguments"] = "{}" } }),
        };
        var tool = new JsonObject { ["role"] = "tool", ["tool_call_id"] = "call_1", ["content"] = "ok" };

        var mapped = ToolCallIds.ForTemplate(assistant, ToolCallSyntax.Mistral);
        Assert.Equal((string)mapped["tool_calls"]![0]!["id"]!, (string)ToolCallIds.ForTemplate(tool, ToolCallSyntax.Mistral)["tool_call_id"]!);
        Assert.Equal("call_1", (string)assistant["tool_calls"]![0]!["id"]!);
        Assert.Same(tool, ToolCallIds.ForTemplate(tool, ToolCallSyntax.Hermes));
    }
}
