using TokenGrid.Inference.DemoModel;
using TokenGrid.Silo.Commands;

namespace TokenGrid.Silo.Tests;

/// <summary>The executable's command line: usage mistakes exit 2 with the option named; good commands still run.</summary>
public sealed class CommandLineTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("tokengrid-command-line-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Theory]
    [InlineData("generate", "--bogus", "1")]
    [InlineData("generate", "--bogus")]
    [InlineData("build-demo-model", "--output", "x")]
    [InlineData("models", "check", "some-dir", "--bogus", "x")]
    [InlineData("db", "migrate", "--connnection", "Host=x")]
    public async Task An_unknown_option_exits_2_naming_it(params string[] args)
    {
        var (code, output, error) = await RunAsync(args);

        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.Contains($"'{args.First(a => a.StartsWith("--", StringComparison.Ordinal))}'", error);
    }

    [Theory]
    [InlineData("--max-tokens", "abc")]
    [InlineData("--temperature", "warm")]
    [InlineData("--seed", "-")]
    [InlineData("--provider", "gpu")]
    public async Task A_bad_value_exits_2_naming_the_option(string option, string value)
    {
        var (code, output, error) = await RunAsync("generate", option, value);

        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.Contains(option, error);
        Assert.Contains(value, error);
    }

    [Fact]
    public async Task A_missing_model_directory_exits_2()
    {
        var (code, _, error) = await RunAsync("models", "check");

        Assert.Equal(2, code);
        Assert.Contains("DIR", error);
    }

    [Fact]
    public async Task Generate_streams_a_completion_from_a_model_directory()
    {
        var directory = DemoModelBuilder.EnsureBuilt(Path.Combine(_root, "cache"), DemoModelSpec.Default with { Layers = 2, HiddenSize = 64 });
        var (code, output, error) = await RunAsync(
            "generate", "The ledger", "--max-tokens", "3", "--temperature", "0.5", "--top-k", "4", "--seed", "7", "--model", directory, "--provider", "CPU");

        Assert.True(code == 0, error);
        Assert.StartsWith("The ledger", output);
        Assert.Contains("model ", error);
        Assert.Matches(@"prompt_tokens=\d+ completion_tokens=[1-3] ", error);
    }

    [Fact]
    public async Task Generate_from_a_folder_that_is_not_a_model_is_one_line_and_exit_code_1()
    {
        var empty = Directory.CreateDirectory(Path.Combine(_root, "empty")).FullName;
        var (code, output, error) = await RunAsync("generate", "x", "--model", empty);

        Assert.Equal(1, code);
        Assert.Equal("", output);
        Assert.StartsWith("not servable: ", error);
        Assert.Single(error.TrimEnd().Split('\n'));
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("help")]
    [InlineData("generate", "--help")]
    [InlineData("build-demo-model", "--help")]
    [InlineData("models", "check", "--help")]
    [InlineData("db", "migrate", "-h")]
    public async Task Help_is_there_for_each_command(params string[] args)
    {
        var (code, output, _) = await RunAsync(args);

        Assert.Equal(0, code);
        Assert.Contains("Usage:", output);
        Assert.Contains(args.Length > 1 ? args[^2] : "generate", output);
    }

    [Theory]
    [InlineData]
    [InlineData("--profile", "postgres")]
    [InlineData("--urls", "http://127.0.0.1:0")]
    [InlineData("--TokenGrid:Models:Entries:0:Name=demo")]
    public void Anything_else_is_the_server_and_its_host_arguments(params string[] args) =>
        Assert.False(SiloCommands.IsCommand(args));

    private static async Task<(int Code, string Output, string Error)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await SiloCommands.InvokeAsync(args, output, error);
        return (code, output.ToString(), error.ToString());
    }
}
