using System.Numerics.Tensors;
using Microsoft.ML.OnnxRuntime;
using TokenGrid.Inference.Tests.Support;

namespace TokenGrid.Inference.Tests.DemoModel;

/// <summary>
/// Greedy decoding the way an engine does it, on raw ONNX Runtime: the prompt runs once with an empty cache,
/// then one token per step with the previous step's presents fed back as pasts.
/// </summary>
public static class CachedGreedyLoop
{
    public static int[] Run(InferenceSession session, IReadOnlyList<int> prompt, int maxNewTokens)
    {
        var inputs = session.InputMetadata;
        var idType = inputs["input_ids"].ElementDataType;
        var pastNames = inputs.Keys.Where(n => n.StartsWith("past", StringComparison.Ordinal)).ToArray();
        var presentNames = pastNames.Select(PresentName).ToArray();
        var merged = inputs.ContainsKey("use_cache_branch");
        string[] inputNames =
        [
            "input_ids", "attention_mask", .. inputs.ContainsKey("position_ids") ? ["position_ids"] : Array.Empty<string>(),
            .. merged ? ["use_cache_branch"] : Array.Empty<string>(), .. pastNames,
        ];
        string[] outputNames = ["logits", .. presentNames];

        using var runOptions = new RunOptions();
        var empty = pastNames.Select(n => ReferenceDecoder.EmptyCache(inputs[n], batch: 1)).ToList();
        IReadOnlyList<OrtValue> past = empty;
        IDisposableReadOnlyCollection<OrtValue>? previous = null;
        var fed = prompt.Select(t => (long)t).ToArray();
        var total = fed.Length;
        var generated = new List<int>();
        try
        {
            while (generated.Count < maxNewTokens)
            {
                var start = total - fed.Length;
                List<OrtValue> fresh =
                [
                    ReferenceDecoder.Integers(idType, fed, [1, fed.Length]),
                    ReferenceDecoder.Integers(inputs["attention_mask"].ElementDataType, [.. Enumerable.Repeat(1L, total)], [1, total]),
                ];
                if (inputs.TryGetValue("position_ids", out var positions))
                {
                    fresh.Add(ReferenceDecoder.Integers(positions.ElementDataType, [.. Enumerable.Range(start, fed.Length).Select(p => (long)p)], [1, fed.Length]));
                }

                if (merged)
                {
                    // Optimum's merged decoders take the cache branch once there is a cache.
                    fresh.Add(OrtValue.CreateTensorValueFromMemory(new[] { start > 0 }, [1]));
                }

                var outputs = session.Run(runOptions, inputNames, [.. fresh, .. past], outputNames);
                fresh.ForEach(v => v.Dispose());
                previous?.Dispose();
                previous = outputs;
                past = [.. outputs.Skip(1)];

                var next = TensorPrimitives.IndexOfMax<float>(ReferenceDecoder.Row(outputs[0], fed.Length - 1));
                generated.Add(next);
                fed = [next];
                total++;
            }
        }
        finally
        {
            previous?.Dispose();
            empty.ForEach(v => v.Dispose());
        }

        return [.. generated];
    }

    /// <summary><c>past_key_values.0.key</c> -> <c>present.0.key</c>; <c>past_0</c> -> <c>present_0</c>.</summary>
    public static string PresentName(string pastName) =>
        pastName.StartsWith("past_key_values.", StringComparison.Ordinal)
            ? "present." + pastName["past_key_values.".Length..]
            : "present_" + pastName["past_".Length..];
}
