using System.Globalization;
using System.Text.Json;

namespace TokenGrid.Benchmarks;

/// <summary>A scenario's figures: an ordered, flat set of named numbers and strings.</summary>
public sealed class BenchmarkReport(string scenario)
{
    private readonly List<KeyValuePair<string, object>> _values = [];

    public string Scenario { get; } = scenario;

    public BenchmarkReport Add(string key, double value)
    {
        _values.Add(new(key, Math.Round(value, 3)));
        return this;
    }

    public BenchmarkReport Add(string key, string value)
    {
        _values.Add(new(key, value));
        return this;
    }

    public void Print(TextWriter output)
    {
        output.WriteLine($"== {Scenario}");
        foreach (var (key, value) in _values)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{key,-28} {value}"));
        }
    }

    public void WriteJson(string path)
    {
        if (Path.GetDirectoryName(Path.GetFullPath(path)) is { } directory)
        {
            Directory.CreateDirectory(directory);
        }

        using var stream = File.Create(path);
        using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        json.WriteStartObject();
        json.WriteString("scenario", Scenario);
        foreach (var (key, value) in _values)
        {
            if (value is double d)
            {
                json.WriteNumber(key, d);
            }
            else
            {
                json.WriteString(key, (string)value);
            }
        }

        json.WriteEndObject();
    }
}
