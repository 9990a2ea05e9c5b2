using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests;

/// <summary>
/// The benchmark executable's command line, run as people run it (docs/benchmarks.md): its <c>[diagram]</c> directive
/// shows the values it parsed, defaults marked <c>*</c>, without running a scenario; usage mistakes, and a scenario
/// missing the PostgreSQL it needs, exit 2.
/// </summary>
public sealed class BenchmarkCommandLineTests
{
    [Theory]
    [InlineData("engine", "engine [ --rounds <5> ] *[ --tokens <64> ] *[ --prompt <16> ] *[ --provider <Auto> ] *[ --small-batches <4> ]", "--rounds", "5")]
    [InlineData("engine", "engine [ --model <m> ] [ --provider <Cuda> ] *[ --rounds <3> ]", "--model", "m", "--provider", "cuda")]
    [InlineData("grid", "grid [ --only <small> ] [ --rounds <8> ] [ --json <out.json> ] *[ --tokens <64> ] *[ --prompt <16> ] *[ --waves <4> ] *[ --small-intra-op <0> ] *[ --small-engines <1> ]", "--only", "small", "--rounds", "8", "--json", "out.json")]
    [InlineData("grid", "grid [ --only <small> ] [ --small-engines <2> ] [ --small-intra-op <1> ]", "--only", "small", "--small-engines", "2", "--small-intra-op", "1")]
    [InlineData("lanes", "lanes [ --long <500> <2000> ] [ --split-positions <0> ] *[ --rounds <3> ] *[ --tokens <128> ] *[ --prompt <16> ] *[ --http ] *[ --provider <Auto> ]", "--long", "500", "2000", "--split-positions", "0")]
    [InlineData("lanes", "lanes [ --http ] [ --long <500> ] *[ --rounds <3> ]", "--http", "--long", "500")]
    [InlineData("admission", "admission [ --tenants <8> ] [ --concurrency <128> ] [ --cycles <16000> ] *[ --rounds <3> ]", "--tenants", "8", "--concurrency", "128", "--cycles", "16000")]
    [InlineData("metrics", "metrics [ --rounds <5> ] *[ --tokens <64> ] *[ --prompt <16> ] *[ --clients <32> ]", "--rounds", "5")]
    [InlineData("fairness", "fairness *[ --seconds <10> ] *[ --tokens <64> ]")]
    [InlineData("scheduler", "scheduler *[ --rounds <3> ] *[ --jobs <1000> ] *[ --nodes <8> ] *[ --tenants <10> ]")]
    [InlineData("cluster", "cluster [ --rounds <3> ] [ --kills <2> ] [ --postgres <Host=x> ] *[ --tokens <64> ] *[ --clients <32> ]", "--rounds", "3", "--kills", "2", "--postgres", "Host=x")]
    [InlineData("tokenizer", "tokenizer [ --families <gpt2,llama3> ] *[ --seconds <2> ]", "--families", "gpt2,llama3")]
    [InlineData("structured", "structured [ --rounds <1> ] [ --walks <5> ] [ --json <out.json> ] *[ --requests <32> ] *[ --tokens <128> ] *[ --prompt <16> ] *[ --provider <Auto> ]", "--rounds", "1", "--walks", "5", "--json", "out.json")]
    [InlineData("soak", "soak [ --profile <postgres> ] [ --minutes <60> ] [ --rate <10> ] *[ --tokens <32> ] *[ --grace <120> ]", "--profile", "postgres", "--minutes", "60", "--rate", "10")]
    public async Task A_scenario_parses_its_options_and_defaults(string scenario, string diagram, params string[] options)
    {
        var (code, output, error) = await RunAsync(["[diagram]", scenario, .. options]);

        Assert.True(code == 0, error);
        Assert.Contains(diagram, output);
    }

    [Theory]
    [InlineData("'--bogus'", "engine", "--bogus", "1")]
    [InlineData("--rounds", "engine", "--rounds", "abc")]
    [InlineData("--provider", "grid", "--provider", "gpu")]
    [InlineData("--waves must be at least 1", "grid", "--waves", "0")]
    [InlineData("--small-intra-op must not be negative", "grid", "--small-intra-op", "-1")]
    [InlineData("--small-engines must divide the 32 sequences", "grid", "--small-engines", "3")]
    [InlineData("--small-engines must divide the 32 sequences", "grid", "--small-engines", "0")]
    [InlineData("--small-batches must be at least 1", "engine", "--small-batches", "0")]
    [InlineData("--long must be at least 1", "lanes", "--long", "0")]
    [InlineData("--split-positions must not be negative", "lanes", "--split-positions", "-1")]
    [InlineData("'nope'", "nope")]
    public async Task A_usage_mistake_exits_2_naming_it(string named, params string[] args)
    {
        var (code, output, error) = await RunAsync(args);

        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.Contains(named, error);
    }

    [Theory]
    [InlineData("--profile postgres needs PostgreSQL", "soak", "--profile", "postgres", "--minutes", "1")]
    [InlineData("The statement benchmark needs PostgreSQL", "statement")]
    [InlineData("The cluster benchmark needs PostgreSQL", "cluster")]
    public async Task A_scenario_without_the_PostgreSQL_it_needs_exits_2_saying_so(string message, params string[] args)
    {
        var (code, output, error) = await RunAsync(args, unset: ["TOKENGRID_TEST_POSTGRES"]);

        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.Contains(message, error);
    }

    private static Task<(int Code, string Output, string Error)> RunAsync(string[] args, IEnumerable<string>? unset = null) =>
        ChildProcess.RunAsync("dotnet", [BenchmarksDll(), .. args], unset: unset);

    // The benchmark project's own build output for the test's configuration (the solution build makes it), found the
    // way SiloExecutable finds the silo's.
    private static string BenchmarksDll()
    {
        var parts = new List<string>();
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)); dir is not null; dir = dir.Parent)
        {
            if (dir.Name == "bin" && dir.Parent?.Parent is { } tests && File.Exists(Path.Combine(tests.FullName, "TokenGrid.Benchmarks", "TokenGrid.Benchmarks.csproj")))
            {
                var dll = Path.Combine([tests.FullName, "TokenGrid.Benchmarks", "bin", .. parts, "TokenGrid.Benchmarks.dll"]);
                return File.Exists(dll) ? dll : throw new FileNotFoundException($"{dll} was not found; build the solution first.");
            }

            parts.Insert(0, dir.Name);
        }

        throw new FileNotFoundException($"The benchmark project was not found above {AppContext.BaseDirectory}.");
    }
}
