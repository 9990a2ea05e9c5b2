using System.Runtime.InteropServices;

namespace TokenGrid.Inference.Sampling;

/// <summary>
/// What one sequence has seen, for the penalties, and the token ids whose logits a draw must revisit: the prompt's
/// (with a repetition penalty), the output's (with any penalty), the biased ones and the ones min_tokens masks. Each id
/// has a slot holding everything its logit needs (output count, prompt flag, bias, mask), so a draw adjusts a slot with
/// no lookup; one lookup is made per output token. Its size follows the distinct tokens seen, never the vocabulary.
/// </summary>
internal sealed class TokenHistory
{
    private readonly Dictionary<int, int> _slots = [];
    private readonly List<Slot> _entries = [];
    private readonly List<int> _ids = [];
    private readonly float _presence;
    private readonly float _frequency;
    private readonly float _repetition;
    private readonly bool _countsOutput;

    public TokenHistory(SamplingOptions options, IReadOnlyList<int> prompt, int resumedOutputTokens)
    {
        _presence = options.PresencePenalty;
        _frequency = options.FrequencyPenalty;
        _repetition = options.RepetitionPenalty;
        _countsOutput = _presence != 0f || _frequency != 0f || _repetition != 1f;
        if (_repetition != 1f)
        {
            foreach (var id in prompt)
            {
                Entry(id).InPrompt = true;
            }
        }

        for (var i = prompt.Count - resumedOutputTokens; i < prompt.Count; i++)
        {
            Add(prompt[i]);
        }
    }

    /// <summary>True when some penalty changes some logit.</summary>
    public bool Penalises => _ids.Count > 0 && _countsOutput;

    /// <summary>Token ids whose logits may differ from the model's, by slot: a slot never moves.</summary>
    public ReadOnlySpan<int> Touched => CollectionsMarshal.AsSpan(_ids);

    /// <summary>Adds <paramref name="bias"/> to <paramref name="id"/>'s logit in every draw.</summary>
    public void Bias(int id, float bias) => Entry(id).Bias = bias;

    /// <summary>Makes <paramref name="id"/> one that a draw under the min-tokens mask cannot choose.</summary>
    public void Mask(int id) => Entry(id).Masked = true;

    /// <summary>Records an output token.</summary>
    public void Add(int id)
    {
        if (_countsOutput)
        {
            Entry(id).Count++;
        }
    }

    /// <summary>The slot of <paramref name="id"/>, when a draw revisits its logit.</summary>
    public bool TryFind(int id, out int slot) => _slots.TryGetValue(id, out slot);

    /// <summary>
    /// The logit <paramref name="logit"/> of the id in <paramref name="slot"/> after, in vLLM's order, the min-tokens mask
    /// (−∞ while <paramref name="masking"/>), the bias, the repetition penalty (divided when positive, multiplied when
    /// negative, for a token in the prompt or the output) and the frequency and presence penalties (per output
    /// occurrence, and once).
    /// </summary>
    public float Adjust(int slot, float logit, bool masking)
    {
        ref readonly var entry = ref CollectionsMarshal.AsSpan(_entries)[slot];
        if (masking && entry.Masked)
        {
            return float.NegativeInfinity;
        }

        logit += entry.Bias;
        if (!_countsOutput)
        {
            return logit;
        }

        if (_repetition != 1f && (entry.Count > 0 || entry.InPrompt))
        {
            logit = logit > 0f ? logit / _repetition : logit * _repetition;
        }

        return entry.Count > 0 ? logit - (_frequency * entry.Count) - _presence : logit;
    }

    /// <summary>
    /// Writes into <paramref name="values"/> every touched id's logit from <paramref name="logits"/>, adjusted as
    /// <see cref="Adjust"/> does; ids past the row are left alone. The two may be one row: each id is read, then written.
    /// </summary>
    public void AdjustAll(ReadOnlySpan<float> logits, Span<float> values, bool masking)
    {
        var ids = CollectionsMarshal.AsSpan(_ids);
        for (var slot = 0; slot < ids.Length; slot++)
        {
            var id = ids[slot];
            if ((uint)id < (uint)logits.Length)
            {
                values[id] = Adjust(slot, logits[id], masking);
            }
        }
    }

    /// <summary>The entry of <paramref name="id"/>'s slot, which is added when it has none; valid until the next slot is added.</summary>
    private ref Slot Entry(int id)
    {
        var slot = SlotOf(id);
        return ref CollectionsMarshal.AsSpan(_entries)[slot];
    }

    private int SlotOf(int id)
    {
        ref var slot = ref CollectionsMarshal.GetValueRefOrAddDefault(_slots, id, out var exists);
        if (!exists)
        {
            slot = _ids.Count;
            _ids.Add(id);
            _entries.Add(default);
        }

        return slot;
    }

    private struct Slot
    {
        public int Count;
        public float Bias;
        public bool InPrompt;
        public bool Masked;
    }
}
