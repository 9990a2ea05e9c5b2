using TokenGrid.Inference.DemoModel;
using TokenGrid.Silo.Commands;

namespace TokenGrid.Silo.Tests;

/// <summary><c>models check DIR</c> on a real model folder and on a broken one.</summary>
public sealed class ModelsCheckCommandTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("tokengrid-models-check-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public async Task A_model_folder_is_described_rendered_and_run()
    {
        var directory = DemoModelBuilder.EnsureBuilt(Path.Combine(_root, "cache"), DemoModelSpec.Default with { Layers = 2, HiddenSize = 64 });
        var (code, output, error) = await RunAsync("check", directory, "--max-tokens", "3", "--provider", "cpu");

        Assert.True(code == 0, error);
        Assert.Contains("input_ids              Int64", output);
        Assert.Contains("position_ids", output);
        Assert.Contains("2 layers × 2 tensor(s) [batch, 4, past, 16] of Float", output);
        Assert.Contains("tokenizer: ", output);
        Assert.Contains("chat format: built-in", output);
        Assert.Matches(@"prompt \(\d+ tokens\):", output);
        Assert.Matches(@"3 generated in [\d.]+ s \([\d.]+ tokens/s decoding", output);
    }

    [Fact]
    public async Task A_conversation_file_is_rendered()
    {
        var directory = DemoModelBuilder.EnsureBuilt(Path.Combine(_root, "cache"), DemoModelSpec.Default with { Layers = 2, HiddenSize = 64 });
        var conversation = Path.Combine(_root, "conversation.json");
        await File.WriteAllTextAsync(conversation, """{"messages": [{"role": "user", "content": "Count the ledger lines."}]}""");
        var (code, output, error) = await RunAsync("check", directory, "--conversation", conversation, "--max-tokens", "1", "--provider", "cpu");

        Assert.True(code == 0, error);
        Assert.Contains("1 messages", output);
        Assert.Contains("Count the ledger lines.", output);
    }

    [Fact]
    public async Task A_broken_folder_is_one_line_and_exit_code_1()
    {
        var broken = Directory.CreateDirectory(Path.Combine(_root, "broken")).FullName;
        await File.WriteAllTextAsync(Path.Combine(broken, "genai_config.json"), "{ not json");
        var (code, output, error) = await RunAsync("check", broken);

        Assert.Equal(1, code);
        Assert.Equal("", output);
        Assert.StartsWith("not servable: ", error);
        Assert.Contains("genai_config.json", error);
        Assert.Single(error.TrimEnd().Split('\n'));
    }

    [Fact]
    public async Task A_required_provider_that_is_missing_is_one_line_and_exit_code_1()
    {
        var directory = DemoModelBuilder.EnsureBuilt(Path.Combine(_root, "cache"), DemoModelSpec.Default with { Layers = 2, HiddenSize = 64 });
        var (code, output, error) = await RunAsync("check", directory, "--provider", "cuda");
        if (code == 0)
        {
            // A machine with CUDA: the check ran there.
            Assert.Contains("provider:   Cuda", output);
            return;
        }

        Assert.Equal(1, code);
        Assert.StartsWith("not servable: The CUDA execution provider was required", error);
        Assert.Single(error.TrimEnd().Split('\n'));
    }

    private static async Task<(int Code, string Output, string Error)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await SiloCommands.InvokeAsync(["models", .. args], output, error);
        return (code, output.ToString(), error.ToString());
    }
}
