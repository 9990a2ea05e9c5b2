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

    [Fact]
    public void A_submitted_job_is_queued_with_its_prompt_counted()
    {
        var at = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

        var info = JobSubmission.Submitted("j", Spec with { User = "u" }, at);

        Assert.Equal(("j", "t", "m", JobStatus.Queued), (info.Id, info.TenantId, info.Model, info.Status));
        Assert.Equal((at, 2, "u"), (info.SubmittedAt, info.PromptTokens, info.User));
        Assert.Null(info.Admission);
    }

    [Fact]
    public void The_time_left_is_infinite_without_a_timeout_and_never_negative()
    {
        var at = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var timed = Spec with { Timeout = TimeSpan.FromSeconds(10) };

        Assert.Equal(Timeout.InfiniteTimeSpan, JobSubmission.TimeLeft(Spec, at, at.AddDays(1)));
        Assert.Equal(TimeSpan.FromSeconds(4), JobSubmission.TimeLeft(timed, at, at.AddSeconds(6)));
        Assert.Equal(TimeSpan.Zero, JobSubmission.TimeLeft(timed, at, at.AddSeconds(10)));
        Assert.Equal(TimeSpan.Zero, JobSubmission.TimeLeft(timed, at, at.AddSeconds(11)));
    }
}
