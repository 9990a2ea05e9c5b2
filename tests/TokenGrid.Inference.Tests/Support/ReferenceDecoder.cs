using System.Numerics.Tensors;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace TokenGrid.Inference.Tests.Support;

/// <summary>
/// The test oracle: greedy decoding by full recomputation on raw ONNX Runtime. Every step runs the whole
/// sequence (prompt and tokens so far) with an empty cache and takes the argmax of the last position's
/// logits, so no cache handling can be wrong. It reads the input names and element types from the session,
/// so it runs any decoder that takes input_ids, attention_mask, optional position_ids, an optional
/// use_cache_branch (merged decoders) and cache inputs (per-layer or combined, float32 or float16).
/// </summary>
public static class ReferenceDecoder
{
    /// <summary>Greedy continuation of <paramref name="prompt"/> by the model in <paramref name="modelDir"/>.</summary>
    public static int[] Greedy(string modelDir, IReadOnlyList<int> prompt, int maxNewTokens, string modelFile = "model.onnx")
    {
        using var session = new InferenceSession(Path.Combine(modelDir, modelFile));
        return Greedy(session, prompt, maxNewTokens);
    }

    /// <summary>Greedy continuation of <paramref name="prompt"/> by an open session.</summary>
    public static int[] Greedy(InferenceSession session, IReadOnlyList<int> prompt, int maxNewTokens)
    {
        var tokens = prompt.ToList();
        for (var step = 0; step < maxNewTokens; step++)
        {
            tokens.Add(TensorPrimitives.IndexOfMax<float>(LastLogits(session, tokens)));
        }

        return [.. tokens.Skip(prompt.Count)];
    }

    /// <summary>Logits at the last position of <paramref name="tokens"/>, as float32 whatever the model outputs.</summary>
    public static float[] LastLogits(InferenceSession session, IReadOnlyList<int> tokens)
    {
        var length = tokens.Count;
        var names = new List<string>();
        var values = new List<OrtValue>();
        try
        {
            foreach (var (name, meta) in session.InputMetadata)
            {
                names.Add(name);
                values.Add(name switch
                {
                    "input_ids" => Integers(meta.ElementDataType, [.. tokens.Select(t => (long)t)], [1, length]),
                    "attention_mask" => Integers(meta.ElementDataType, [.. Enumerable.Repeat(1L, length)], [1, length]),
                    "position_ids" => Integers(meta.ElementDataType, [.. Enumerable.Range(0, length).Select(i => (long)i)], [1, length]),
                    // A merged decoder: no cache to use, every step recomputes.
                    "use_cache_branch" => OrtValue.CreateTensorValueFromMemory(new[] { false }, [1]),
                    _ => EmptyCache(meta, batch: 1),
                });
            }

            using var runOptions = new RunOptions();
            using var outputs = session.Run(runOptions, names, values, ["logits"]);
            return Row(outputs[0], length - 1);
        }
        finally
        {
            foreach (var value in values)
            {
                value.Dispose();
            }
        }
    }

    /// <summary>An int64 or int32 tensor (as the model's input asks) holding <paramref name="values"/>.</summary>
    public static OrtValue Integers(TensorElementType type, long[] values, long[] shape) => type switch
    {
        TensorElementType.Int64 => OrtValue.CreateTensorValueFromMemory(values, shape),
        TensorElementType.Int32 => OrtValue.CreateTensorValueFromMemory(values.Select(v => checked((int)v)).ToArray(), shape),
        _ => throw new NotSupportedException($"Integer input of type {type}."),
    };

    /// <summary>
    /// A zero-length cache input: the first symbolic dimension is the batch, any later one the past length (0).
    /// </summary>
    public static OrtValue EmptyCache(NodeMetadata meta, int batch)
    {
        var shape = new long[meta.Dimensions.Length];
        var batchSeen = false;
        for (var i = 0; i < shape.Length; i++)
        {
            shape[i] = meta.Dimensions[i] >= 0 ? meta.Dimensions[i] : batchSeen ? 0 : batch;
            batchSeen |= meta.Dimensions[i] < 0;
        }

        return OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, meta.ElementDataType, shape);
    }

    /// <summary>Row <paramref name="index"/> (flattened over batch and sequence) of a logits output, as float32.</summary>
    public static float[] Row(OrtValue logits, int index)
    {
        var info = logits.GetTensorTypeAndShape();
        var vocab = (int)info.Shape[^1];
        return info.ElementDataType == TensorElementType.Float16
            ? [.. logits.GetTensorDataAsSpan<Float16>().Slice(index * vocab, vocab).ToArray().Select(h => h.ToFloat())]
            : logits.GetTensorDataAsSpan<float>().Slice(index * vocab, vocab).ToArray();
    }
}
