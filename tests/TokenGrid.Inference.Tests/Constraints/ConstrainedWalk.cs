using System.Collections.Concurrent;
using System.Text;
using TokenGrid.Inference.Constraints;
using TokenGrid.Inference.Tests.Tokenizers;
using TokenGrid.Inference.Tokenizers;

namespace TokenGrid.Inference.Tests.Constraints;

/// <summary>
/// Generates under a constraint without a model: each step draws one of the allowed tokens at random (the harshest
/// adversary: a model with random weights), over a real tokenizer's vocabulary, and returns the text.
/// </summary>
public static class ConstrainedWalk
{
    private static readonly ConcurrentDictionary<string, Lazy<(TokenVocabulary Vocabulary, ModelTokenizer Tokenizer, int[] Ends)>> s_vocabularies = new();

    /// <summary>The vocabulary of a real tokenizer from the reference tools (special tokens left out), loaded once.</summary>
    public static (TokenVocabulary Vocabulary, ModelTokenizer Tokenizer, int[] Ends) Vocabulary(string family) =>
        s_vocabularies.GetOrAdd(family, f => new(() =>
        {
            var tokenizer = ReferenceFixtures.Tokenizer(f);
            var special = tokenizer.SpecialTokens.Values.ToHashSet();
            var size = Size(tokenizer);
            var vocabulary = TokenVocabulary.Build(size, id => special.Contains(id) ? null : tokenizer.TokenBytes(id));
            return (vocabulary, tokenizer, [.. special.Take(1)]);
        })).Value;

    /// <summary>One walk's outcome.</summary>
    public sealed record Result(string Text, int Tokens, bool Complete, bool Ended, int[] Ids);

    /// <summary>Generates at most <paramref name="maxTokens"/> tokens under <paramref name="grammar"/>.</summary>
    public static Result Run(JsonGrammar grammar, string family, int maxTokens, int seed, double endBias = 0.0)
    {
        var (vocabulary, _, ends) = Vocabulary(family);
        var constraint = new TokenConstraint(grammar, vocabulary, ends);
        var random = new Random(seed);
        var mask = new ulong[vocabulary.Words];
        var scratch = new MaskScratch();
        var bytes = new List<byte>();
        var ids = new List<int>();
        for (var step = 0; step < maxTokens; step++)
        {
            if (constraint.IsComplete)
            {
                return new Result(Encoding.UTF8.GetString([.. bytes]), step, true, false, [.. ids]);
            }

            Assert.True(constraint.Remaining <= maxTokens - step, $"Remaining {constraint.Remaining} above {maxTokens - step} after '{Encoding.UTF8.GetString([.. bytes])}' (last token bytes {(ids.Count > 0 ? Convert.ToHexString(vocabulary.Bytes(ids[^1])!) : "")}).");
            var allowed = constraint.FillMask(mask, maxTokens - step, scratch);
            Assert.True(allowed > 0, $"Nothing allowed after '{Encoding.UTF8.GetString([.. bytes])}' (last token bytes {(ids.Count > 0 ? Convert.ToHexString(vocabulary.Bytes(ids[^1])!) : "")}).");
            var token = Pick(mask, allowed, random);
            if (ends.Contains(token) || (endBias > 0 && constraint.Accepts && random.NextDouble() < endBias))
            {
                return new Result(Encoding.UTF8.GetString([.. bytes]), step, constraint.Accepts, true, [.. ids]);
            }

            ids.Add(token);
            bytes.AddRange(vocabulary.Bytes(token)!);
            constraint.Advance(token);
            Assert.False(constraint.IsBroken, $"The constraint broke on token {token} after '{Encoding.UTF8.GetString([.. bytes])}'.");
        }

        return new Result(Encoding.UTF8.GetString([.. bytes]), maxTokens, constraint.IsComplete || constraint.Accepts, false, [.. ids]);
    }

    private static int Pick(ulong[] mask, int allowed, Random random)
    {
        var target = random.Next(allowed);
        for (var w = 0; w < mask.Length; w++)
        {
            var count = System.Numerics.BitOperations.PopCount(mask[w]);
            if (target < count)
            {
                var word = mask[w];
                for (var i = 0; i < target; i++)
                {
                    word &= word - 1;
                }

                return (w * 64) + System.Numerics.BitOperations.TrailingZeroCount(word);
            }

            target -= count;
        }

        throw new InvalidOperationException("No token picked.");
    }

    /// <summary>
    /// Ids a tokenizer file uses: past its last special token and its last id with bytes (the model's logits width for
    /// a tokenizer without a model).
    /// </summary>
    public static int Size(ModelTokenizer tokenizer)
    {
        var last = tokenizer.SpecialTokens.Values.DefaultIfEmpty(0).Max();
        var empty = 0;
        var id = 0;
        for (; empty < 2_000; id++)
        {
            empty = tokenizer.TokenBytes(id).Length == 0 ? empty + 1 : 0;
        }

        return Math.Max(last + 1, id - empty);
    }
}
