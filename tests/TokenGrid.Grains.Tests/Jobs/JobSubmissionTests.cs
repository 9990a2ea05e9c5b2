using TokenGrid.Abstractions.Jobs;
using TokenGrid.Grains.Jobs;

namespace TokenGrid.Grains.Tests.Jobs;

public sealed class JobSubmissionTests
{
    private static readonly JobSpec Spec = new() { TenantId = "t", Model = "m", PromptTokens = [1, 2], MaxTokens = 4 };

    [Theory]
    [InlineData("", "m", 1, 4, "The tenant id is empty.")]
    [InlineData("t", " ", 1, 4, "The model is empty.")]
    [InlineData("t", "m", 0, 4, "The prompt is empty.")]
    [InlineData("t", "m", 1, 0, "max_tokens must be at least 1.")]
    public void A_spec_that_cannot_make_a_job_is_refused_with_the_reason(string tenantId, string model, int promptTokens, int maxTokens, string reason)
    {
        var spec = Spec with { TenantId = tenantId, Model = model, PromptTokens = new int[promptTokens], MaxTokens = maxTokens };

        var refused = Assert.Throws<ArgumentException>(() => JobSubmission.Validate(spec));

        Assert.StartsWith(reason, refused.Message, StringComparison.Ordinal);
        Assert.Equal("spec", refused.ParamName);
    }

    [Fact]
    public void A_valid_spec_passes() => JobSubmission.Validate(Spec);

    [Fact]
    public void A_sampled_job_without_a_seed_gets_one_and_keeps_it()
    {
        var sampled = Spec with { Sampling = new JobSampling(Temperature: 0.8f) };

        var fixedSeed = JobSubmission.WithFixedSeed(sampled);

        Assert.NotNull(fixedSeed.Sampling.Seed);
        Assert.Same(fixedSeed, JobSubmission.WithFixedSeed(fixedSeed));
        Assert.Equal(sampled with { Sampling = sampled.Sampling with { Seed = fixedSeed.Sampling.Seed } }, fixedSeed);
    }

    [Fact]
    public void A_greedy_job_or_one_with_a_seed_is_left_as_it_is()
    {
        var greedy = Spec with { Sampling = new JobSampling(Temperature: 0f) };
        var seeded = Spec with { Sampling = new JobSampling(Temperature: 0.8f, Seed: 7) };

        Assert.Same(greedy, JobSubmission.WithFixedSeed(greedy));
        Assert.Same(seeded, JobSubmission.WithFixedSeed(seeded));
    }
}
