namespace TokenGrid.Inference.Sampling;

/// <summary>
/// What one sequence has seen, for the penalties: how often each token was output, which tokens the prompt holds,
/// and the set of token ids whose logits a draw must revisit. Its size follows the distinct tokens seen, never the
/// vocabulary.
/// </summary>
internal sealed class TokenHistory
{
    private readonly Dictionary<int, int> _outputCounts = [];
    private readonly HashSet<int> _prompt = [];
    private readonly HashSet<int> _touchedSet = [];
    private readonly List<int> _touched = [];
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
                _prompt.Add(id);
                Touch(id);
            }
        }

        for (var i = prompt.Count - resumedOutputTokens; i < prompt.Count; i++)
        {
            Add(prompt[i]);
        }
    }

    /// <summary>True when some penalty changes some logit.</summary>
    public bool Penalises => _touched.Count > 0 && _countsOutput;

    /// <summary>Token ids whose logits may differ from the model's.</summary>
    public IReadOnlyList<int> Touched => _touched;

    /// <summary>Makes <paramref name="id"/> one of the ids revisited by every draw.</summary>
    public void Touch(int id)
    {
        if (_touchedSet.Add(id))
        {
            _touched.Add(id);
        }
    }

    /// <summary>Records an output token.</summary>
    public void Add(int id)
    {
        if (_countsOutput)
        {
            _outputCounts[id] = _outputCounts.GetValueOrDefault(id) + 1;
            Touch(id);
        }
    }

    /// <summary>
    /// <paramref name="logit"/> after the repetition penalty (divided when positive, multiplied when negative, for a token
    /// in the prompt or the output) and the frequency and presence penalties (per output occurrence, and once).
    /// </summary>
    public float Penalise(int id, float logit)
    {
        if (!_countsOutput)
        {
            return logit;
        }

        var count = _outputCounts.GetValueOrDefault(id);
        if (_repetition != 1f && (count > 0 || _prompt.Contains(id)))
        {
            logit = logit > 0f ? logit / _repetition : logit * _repetition;
        }

        return count > 0 ? logit - (_frequency * count) - _presence : logit;
    }
}
