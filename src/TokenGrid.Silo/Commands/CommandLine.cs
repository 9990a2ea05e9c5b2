using System.Globalization;

namespace TokenGrid.Silo.Commands;

/// <summary>A positional argument plus <c>--name value</c> options.</summary>
internal sealed class CommandLine
{
    private readonly Dictionary<string, string> _options = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<string> _positional = [];

    public CommandLine(string[] args)
    {
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i].StartsWith("--", StringComparison.Ordinal))
            {
                if (i + 1 >= args.Length)
                {
                    throw new ArgumentException($"Option '{args[i]}' needs a value.");
                }

                _options[args[i][2..]] = args[++i];
            }
            else
            {
                _positional.Add(args[i]);
            }
        }
    }

    public string? Positional(int index) => index < _positional.Count ? _positional[index] : null;

    public string? String(string name) => _options.GetValueOrDefault(name);

    public int? Int(string name) => _options.TryGetValue(name, out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : null;

    public float? Float(string name) => _options.TryGetValue(name, out var v) ? float.Parse(v, CultureInfo.InvariantCulture) : null;
}
