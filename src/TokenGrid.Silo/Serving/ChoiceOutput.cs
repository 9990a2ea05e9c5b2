using TokenGrid.Abstractions.Jobs;
using TokenGrid.Silo.OpenAi;
using TokenGrid.Silo.Problems;

namespace TokenGrid.Silo.Serving;

/// <summary>The output of one choice of an <c>n</c> &gt; 1 request.</summary>
/// <param name="Text">Its generated text.</param>
/// <param name="Final">Its job as it ended.</param>
/// <param name="Logprobs">Its tokens' log probabilities, when reported.</param>
internal sealed record ChoiceResult(string Text, JobInfo Final, List<TokenLogprob> Logprobs);

/// <summary>Reading the jobs of an <c>n</c> &gt; 1 request (one job per choice) for a reply that is not streamed.</summary>
internal static class ChoiceOutput
{
    /// <summary>
    /// Collects every choice, in index order; the first that does not succeed fails the request as a whole (a
    /// <see cref="JobFailedException"/>), and the others are then cancelled at once (each settles what it used).
    /// </summary>
    public static async Task<IReadOnlyList<ChoiceResult>> CollectAsync(IReadOnlyList<IJobGrain> jobs, HttpContext http)
    {
        var collecting = jobs.Select(job => JobOutput.CollectAsync(job, http)).ToList();
        var pending = collecting.ToList();
        while (pending.Count > 0)
        {
            var done = await Task.WhenAny(pending);
            pending.Remove(done);
            JobInfo final;
            try
            {
                (_, final, _) = await done;
            }
            catch
            {
                await JobSubmitter.CancelAllAsync(jobs);
                throw;
            }

            if (final.Status != JobStatus.Succeeded)
            {
                await JobSubmitter.CancelAllAsync(jobs);
                throw new JobFailedException(final);
            }
        }

        return [.. collecting.Select(c => new ChoiceResult(c.Result.Text, c.Result.Final, c.Result.Logprobs))];
    }

    /// <summary>
    /// Usage as OpenAI reports it for <c>n</c> choices, <paramref name="finals"/> in choice order: the prompt once, as
    /// choice 0 computed it (with its cached tokens, as the ledger records them), the completions summed. With several
    /// prompts of <paramref name="choicesPerPrompt"/> choices each (0: one prompt), each prompt once, as its choice 0
    /// computed it.
    /// </summary>
    public static Usage UsageOf(IEnumerable<JobInfo> finals, int choicesPerPrompt = 0)
    {
        var all = finals.ToList();
        var per = choicesPerPrompt > 0 ? choicesPerPrompt : all.Count;
        var firsts = all.Where((_, i) => i % per == 0).ToList();
        return Usage.Of(firsts.Sum(f => f.PromptTokens), all.Sum(f => f.CompletionTokens), firsts.Sum(f => f.CachedPromptTokens));
    }
}
