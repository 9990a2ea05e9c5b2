using TokenGrid.Inference.Tests.Constraints;
using System.Diagnostics;
using System.Numerics;
using TokenGrid.Inference.Constraints;
using TokenGrid.Inference.Tokenizers;

namespace TokenGrid.Benchmarks.Structured;

/// <summary>
/// Times <see cref="TokenConstraint.FillMask"/> token by token over a vocabulary: each walk draws a seeded random token
/// among the allowed ones (a model with random weights, the harshest case: it wanders into long strings and deep
/// values), as the corpus tests' constrained walk does, until the value is complete, an end id is drawn or the budget
/// runs out.
/// </summary>
internal sealed class MaskTiming(string name, TokenVocabulary vocabulary, int[] endIds)
{
    private readonly ulong[] _mask = new ulong[vocabulary.Words];
    private readonly MaskScratch _scratch = new();

    /// <summary>The name the vocabulary's figures carry.</summary>
    public string Name { get; } = name;

    public int Size => vocabulary.Size;

    /// <summary>
    /// The vocabulary of a tokenizer as the engine builds it: special tokens are never constrained output, and the
    /// first special token stands for the end of sequence.
    /// </summary>
    public static MaskTiming FromTokenizer(string name, ModelTokenizer tokenizer, int size, IEnumerable<int> endIds)
    {
        var special = tokenizer.SpecialTokens.Values.ToHashSet();
        var vocabulary = TokenVocabulary.Build(size, id => special.Contains(id) ? null : tokenizer.TokenBytes(id));
        return new MaskTiming(name, vocabulary, [.. endIds]);
    }

    /// <summary>Ids a tokenizer file uses (see <see cref="ConstrainedWalk.Size"/>).</summary>
    public static int SizeOf(ModelTokenizer tokenizer) => ConstrainedWalk.Size(tokenizer);

    /// <summary>
    /// Runs <paramref name="walks"/> walks of at most <paramref name="maxTokens"/> tokens beyond the schema's shortest
    /// value (as a request sized for its schema would give; a budget below it makes every mask a second, unbounded
    /// fill), adding each FillMask call's time in microseconds to <paramref name="micros"/>; returns the tokens walked.
    /// </summary>
    public long Walk(JsonGrammar grammar, int walks, int maxTokens, int seed, List<double> micros)
    {
        maxTokens += grammar.ShortestValueBytes;
        var random = new Random(seed);
        var tokens = 0L;
        for (var w = 0; w < walks; w++)
        {
            var constraint = new TokenConstraint(grammar, vocabulary, endIds);
            for (var step = 0; step < maxTokens && !constraint.IsComplete; step++)
            {
                var start = Stopwatch.GetTimestamp();
                var allowed = constraint.FillMask(_mask, maxTokens - step, _scratch);
                micros.Add(Stopwatch.GetElapsedTime(start).TotalMicroseconds);
                if (allowed == 0)
                {
                    throw new InvalidOperationException($"{Name}: nothing allowed at step {step}.");
                }

                var token = Pick(allowed, random);
                tokens++;
                if (endIds.Contains(token))
                {
                    break;
                }

                constraint.Advance(token);
            }
        }

        return tokens;
    }

    private int Pick(int allowed, Random random)
    {
        var target = random.Next(allowed);
        for (var w = 0; w < _mask.Length; w++)
        {
            var count = BitOperations.PopCount(_mask[w]);
            if (target < count)
            {
                var word = _mask[w];
                for (var i = 0; i < target; i++)
                {
                    word &= word - 1;
                }

                return (w * 64) + BitOperations.TrailingZeroCount(word);
            }

            target -= count;
        }

        throw new InvalidOperationException("No token picked.");
    }
}
