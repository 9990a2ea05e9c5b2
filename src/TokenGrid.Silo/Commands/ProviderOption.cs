using System.CommandLine;
using TokenGrid.Inference.Runtime;

namespace TokenGrid.Silo.Commands;

/// <summary><c>--provider auto|cuda|cpu</c>: the execution provider to ask for, any case. Default: auto.</summary>
internal static class ProviderOption
{
    /// <summary>A new <c>--provider</c> option (an option belongs to one command).</summary>
    public static Option<ExecutionProviderPreference> Create() => new("--provider")
    {
        Description = "The execution provider to ask for: auto (CUDA where the machine has it, else the CPU), cuda or cpu.",
        HelpName = "auto|cuda|cpu",
        DefaultValueFactory = _ => ExecutionProviderPreference.Auto,
        // Not the built-in enum conversion: it also takes numbers ("--provider 7").
        CustomParser = result =>
        {
            var given = result.Tokens[^1].Value;
            foreach (var provider in Enum.GetValues<ExecutionProviderPreference>())
            {
                if (provider.ToString().Equals(given, StringComparison.OrdinalIgnoreCase))
                {
                    return provider;
                }
            }

            result.AddError($"--provider must be auto, cuda or cpu, not '{given}'.");
            return default;
        },
    };
}
