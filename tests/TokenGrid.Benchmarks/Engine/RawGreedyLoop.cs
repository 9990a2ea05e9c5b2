using System.Numerics.Tensors;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using TokenGrid.Inference.Models;

namespace TokenGrid.Benchmarks.Engine;

/// <summary>
/// The physical limit: a minimal hand-written batched greedy loop straight on ONNX Runtime, with no
/// scheduling, streaming or bookkeeping. Equal-length prompts, so no padding. Presents are fed back as
/// pasts (ONNX Runtime allocates them), and the argmax is taken with the same vectorised primitive.
/// </summary>
public static class RawGreedyLoop
{
    /// <summary>True when the loop can run <paramref name="model"/> (the demo model's input and output types).</summary>
    public static bool Supports(DecoderModel model)
    {
        var sig = model.Signature;
        return sig.IdType == TensorElementType.Int64 && sig.MaskType == TensorElementType.Int64 && sig.KvType == TensorElementType.Float
            && sig.LogitsType == TensorElementType.Float && model.Config.Io.PositionIds is not null && sig.UseCacheBranch is null;
    }

    /// <summary>Generates <paramref name="newTokens"/> tokens for every prompt; returns the tokens generated.</summary>
    public static long Run(DecoderModel model, IReadOnlyList<int[]> prompts, int newTokens)
    {
        var sig = model.Signature;
        if (!Supports(model))
        {
            throw new NotSupportedException("The raw loop is written for the default demo model (int64 ids, float32 cache and logits, position_ids).");
        }

        var io = model.Config.Io;
        var batch = prompts.Count;
        var length = prompts[0].Length;
        var vocab = model.Config.VocabSize;
        string[] inputNames = [io.InputIds, io.AttentionMask, io.PositionIds!, .. sig.PastNames];
        string[] outputNames = [io.Logits, .. sig.PresentNames];
        using var runOptions = new RunOptions();

        var ids = new long[batch * length];
        var positions = new long[batch * length];
        for (var b = 0; b < batch; b++)
        {
            for (var c = 0; c < length; c++)
            {
                ids[(b * length) + c] = prompts[b][c];
                positions[(b * length) + c] = c;
            }
        }

        long[] pastShape = [batch, model.Config.KvHeads, 0, model.Config.HeadSize];
        List<OrtValue> past = [.. sig.PastNames.Select(_ => OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, TensorElementType.Float, pastShape))];
        var next = new long[batch];
        var step = 0;
        var columns = length;
        var total = length;
        while (true)
        {
            var mask = new long[batch * total];
            Array.Fill(mask, 1L);
            List<OrtValue> inputs =
            [
                OrtValue.CreateTensorValueFromMemory(ids, [batch, columns]),
                OrtValue.CreateTensorValueFromMemory(mask, [batch, total]),
                OrtValue.CreateTensorValueFromMemory(positions, [batch, columns]),
                .. past,
            ];
            var outputs = model.Session.Run(runOptions, inputNames, inputs, outputNames);
            foreach (var v in inputs)
            {
                v.Dispose();
            }

            var logits = outputs[0].GetTensorDataAsSpan<float>();
            // A graph rewritten to last-position logits (the engine's default) returns one column per row.
            var logitColumns = logits.Length / vocab / batch;
            for (var b = 0; b < batch; b++)
            {
                next[b] = TensorPrimitives.IndexOfMax(logits.Slice((((b * logitColumns) + logitColumns - 1) * vocab), vocab));
            }

            outputs[0].Dispose();
            past = [.. outputs.Skip(1)];
            if (++step == newTokens)
            {
                foreach (var v in past)
                {
                    v.Dispose();
                }

                return (long)batch * newTokens;
            }

            columns = 1;
            ids = new long[batch];
            positions = new long[batch];
            for (var b = 0; b < batch; b++)
            {
                ids[b] = next[b];
                positions[b] = total;
            }

            total++;
        }
    }
}
