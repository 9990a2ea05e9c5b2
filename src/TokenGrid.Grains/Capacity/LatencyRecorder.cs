using System.Diagnostics.Metrics;
using Microsoft.Extensions.Options;
using TokenGrid.Abstractions.Capacity;
using TokenGrid.Grains.Telemetry;

namespace TokenGrid.Grains.Capacity;

/// <summary>
/// This silo's latency over a rolling window, for the capacity view: it listens to the request latency histograms of
/// the TokenGrid meter (of this host's meter factory), <see cref="TokenGridInstruments.RequestLatencies"/>, and counts
/// each measurement into <see cref="LatencyBuckets"/> per instrument and model, in ten slots across the window. The
/// meter's other time histograms (a tenant save, a retention sweep batch) are the operators' and stay in Prometheus.
/// </summary>
public sealed class LatencyRecorder : IDisposable
{
    private const int Slots = 10;
    private readonly MeterListener _listener = new();
    private readonly Lock _lock = new();
    private readonly Dictionary<(string Metric, string Model), Series> _series = [];
    private readonly TimeProvider _time;
    private readonly TimeSpan _slotLength;

    /// <summary>Starts listening to <paramref name="meterFactory"/>'s TokenGrid meter.</summary>
    public LatencyRecorder(IMeterFactory meterFactory, TimeProvider time, IOptions<CapacityOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _time = time;
        _slotLength = options.Value.LatencyWindow / Slots;
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            // Meters of other hosts in the same process (tests run several silos) have another factory as their scope.
            if (instrument.Meter.Name == TokenGridInstruments.MeterName && ReferenceEquals(instrument.Meter.Scope, meterFactory)
                && instrument is Histogram<double> && ScaleOf(instrument.Unit) is not null
                && TokenGridInstruments.RequestLatencies.Contains(instrument.Name, StringComparer.Ordinal))
            {
                listener.EnableMeasurementEvents(instrument, ScaleOf(instrument.Unit));
            }
        };
        _listener.SetMeasurementEventCallback<double>(OnMeasurement);
        _listener.Start();
    }

    /// <summary>The measurement name of an instrument: its name without the meter's prefix, dots as underscores.</summary>
    public static string MetricName(string instrument)
    {
        ArgumentNullException.ThrowIfNull(instrument);
        var name = instrument.StartsWith("tokengrid.", StringComparison.Ordinal) ? instrument["tokengrid.".Length..] : instrument;
        return name.Replace('.', '_');
    }

    /// <summary>The histograms over the window, one per measurement and model that has counts.</summary>
    public IReadOnlyList<LatencySeries> Snapshot()
    {
        var slot = SlotOf(_time.GetUtcNow());
        lock (_lock)
        {
            var result = new List<LatencySeries>(_series.Count);
            foreach (var ((metric, model), series) in _series)
            {
                var buckets = new long[LatencyBuckets.Bounds.Count + 1];
                double sum = 0;
                for (var i = 0; i < Slots; i++)
                {
                    if (series.SlotIds[i] > slot - Slots)
                    {
                        sum += series.Sums[i];
                        for (var b = 0; b < buckets.Length; b++)
                        {
                            buckets[b] += series.Counts[i][b];
                        }
                    }
                }

                if (buckets.Any(c => c > 0))
                {
                    result.Add(new LatencySeries(metric, model, buckets, sum));
                }
            }

            return result;
        }
    }

    /// <inheritdoc/>
    public void Dispose() => _listener.Dispose();

    private static double? ScaleOf(string? unit) => unit switch
    {
        "s" => 1.0,
        "ms" => 0.001,
        _ => null,
    };

    private void OnMeasurement(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? state)
    {
        var seconds = value * (double)state!;
        var model = string.Empty;
        foreach (var tag in tags)
        {
            if (tag.Key is "model" or "gen_ai.request.model" or "gen_ai.response.model" && tag.Value is string name)
            {
                model = name;
                break;
            }
        }

        var slot = SlotOf(_time.GetUtcNow());
        var bucket = LatencyBuckets.IndexOf(seconds);
        lock (_lock)
        {
            var key = (MetricName(instrument.Name), model);
            if (!_series.TryGetValue(key, out var series))
            {
                _series[key] = series = new Series();
            }

            series.Add(slot, bucket, seconds);
        }
    }

    private long SlotOf(DateTimeOffset at) => at.UtcTicks / _slotLength.Ticks;

    /// <summary>Counts of one measurement and model in a ring of slots; a slot is reset when its time comes round again.</summary>
    private sealed class Series
    {
        public long[] SlotIds { get; } = Enumerable.Repeat(long.MinValue, Slots).ToArray();

        public long[][] Counts { get; } = [.. Enumerable.Range(0, Slots).Select(_ => new long[LatencyBuckets.Bounds.Count + 1])];

        public double[] Sums { get; } = new double[Slots];

        public void Add(long slot, int bucket, double seconds)
        {
            var i = (int)(slot % Slots);
            if (SlotIds[i] != slot)
            {
                SlotIds[i] = slot;
                Array.Clear(Counts[i]);
                Sums[i] = 0;
            }

            Counts[i][bucket]++;
            Sums[i] += seconds;
        }
    }
}
