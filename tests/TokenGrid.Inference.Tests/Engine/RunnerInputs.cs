using TokenGrid.Inference.Engine;

namespace TokenGrid.Inference.Tests.Engine;

/// <summary>The inputs of one-row steps run on a <see cref="DecoderRunner"/> directly, as the engine's loop sets them.</summary>
internal static class RunnerInputs
{
    /// <summary>Prepares a one-row prefill of <paramref name="prompt"/> from position 0.</summary>
    public static void Prefill(DecoderRunner runner, int[] prompt)
    {
        runner.Prepare(1, prompt.Length, prompt.Length);
        for (var c = 0; c < prompt.Length; c++)
        {
            runner.Ids.Set(c, prompt[c]);
            runner.Positions.Set(c, c);
            runner.Mask.Set(c, 1);
        }
    }

    /// <summary>Prepares a one-row decode step of <paramref name="token"/> after <paramref name="length"/> cached positions.</summary>
    public static void Decode(DecoderRunner runner, int token, int length)
    {
        runner.Prepare(1, 1, length + 1);
        runner.Ids.Set(0, token);
        runner.Positions.Set(0, length);
        for (var c = 0; c <= length; c++)
        {
            runner.Mask.Set(c, 1);
        }
    }
}
