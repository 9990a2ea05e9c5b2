using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TokenGrid.Abstractions.Jobs;
using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.Jobs;

namespace TokenGrid.Grains.Tests.Jobs;

/// <summary>
/// An ended job's bookkeeping on its own: what it charges, and how a failed settlement, expiry record or save is tried
/// again until all of it is done, settling once.
/// </summary>
public sealed class JobSettlementTests
{
    private static readonly JobInfo Ended = new()
    {
        Id = "j", TenantId = "t", Model = "m", Status = JobStatus.Succeeded, PromptTokens = 10, CompletionTokens = 4,
    };

    private readonly List<(string TenantId, SettlementRequest Request)> _settled = [];
    private bool _tenantDown;

    [Fact]
    public void The_prompt_is_charged_only_when_a_node_took_it_and_once_per_group_of_choices()
    {
        var spec = new JobSpec { TenantId = "t", Model = "m", PromptTokens = [1], MaxTokens = 1 };

        Assert.Equal(0, JobSettlement.ChargedPrompt(new JobState { Spec = spec, PromptProcessed = false }, Ended));
        Assert.Equal(10, JobSettlement.ChargedPrompt(new JobState { Spec = spec, PromptProcessed = true }, Ended));
        var sibling = spec with { Choice = new JobChoice("g", 1, 2) };
        Assert.Equal(0, JobSettlement.ChargedPrompt(new JobState { Spec = sibling, PromptProcessed = true }, Ended));
    }

    [Fact]
    public async Task A_settlement_sends_the_tokens_used_with_the_outcome()
    {
        var settlement = Create();
        var state = new JobState { PromptProcessed = true };

        var charged = await settlement.SettleAsync(state, Ended, JobOutcome.Completed);

        Assert.Equal(14, charged);
        var (tenantId, request) = Assert.Single(_settled);
        Assert.Equal("t", tenantId);
        Assert.Equal(new SettlementRequest("j", 10, 4, JobOutcome.Completed), request);
    }

    [Fact]
    public async Task A_settlement_sends_the_cached_prompt_tokens_only_with_a_charged_prompt()
    {
        var settlement = Create();
        var cachedJob = Ended with { Id = "cached", CachedPromptTokens = 8 };
        var spec = new JobSpec { TenantId = "t", Model = "m", PromptTokens = [1], MaxTokens = 1 };

        await settlement.SettleAsync(new JobState { Spec = spec, PromptProcessed = true }, cachedJob, JobOutcome.Completed);
        await settlement.SettleAsync(new JobState { Spec = spec, PromptProcessed = false }, cachedJob with { Id = "untaken" }, JobOutcome.Failed);
        var sibling = spec with { Choice = new JobChoice("g", 1, 2) };
        await settlement.SettleAsync(new JobState { Spec = sibling, PromptProcessed = true }, cachedJob with { Id = "sibling" }, JobOutcome.Completed);

        Assert.Equal(
            [("cached", 10, 8), ("untaken", 0, 0), ("sibling", 0, 0)],
            _settled.Select(s => (s.Request.JobId, s.Request.PromptTokens, s.Request.CachedPromptTokens)));
    }

    /// <summary>
    /// Choice 0 of a group is charged the group's prompt even when it ended before a node took it (its client left while
    /// it waited), as long as a sibling ran on the prompt; when none did, nobody is charged it.
    /// </summary>
    [Fact]
    public async Task Choice_0_charges_the_groups_prompt_when_a_sibling_ran_on_it()
    {
        var siblings = new Dictionary<string, JobInfo?>
        {
            ["ran"] = Ended with { Id = "ran", CompletionTokens = 3 },
            ["waited"] = Ended with { Id = "waited", CompletionTokens = 0 },
        };
        var settlement = new JobSettlement(SettleAsync, "j", NullLogger.Instance, id => id == "gone"
            ? Task.FromException<JobInfo?>(new TimeoutException("The sibling's silo is gone."))
            : Task.FromResult(siblings.GetValueOrDefault(id)));
        var spec = new JobSpec { TenantId = "t", Model = "m", PromptTokens = [1], MaxTokens = 1 };
        JobState Choice0(params string[] ids) => new() { Spec = spec with { Choice = new JobChoice("g", 0, ids.Length + 1) { Siblings = ids } }, PromptProcessed = false };
        var cancelled = Ended with { Status = JobStatus.Cancelled, CompletionTokens = 0 };

        await settlement.SettleAsync(Choice0("waited", "ran"), cancelled with { Id = "a" }, JobOutcome.Cancelled);
        await settlement.SettleAsync(Choice0("waited", "gone", "missing"), cancelled with { Id = "b" }, JobOutcome.Cancelled);
        await settlement.SettleAsync(new JobState { Spec = spec with { Choice = new JobChoice("g", 1, 2) }, PromptProcessed = true }, Ended with { Id = "c" }, JobOutcome.Completed);

        Assert.Equal([("a", 10), ("b", 0), ("c", 0)], _settled.Select(s => (s.Request.JobId, s.Request.PromptTokens)));
    }

    [Fact]
    public async Task A_failed_settlement_is_tried_again_until_the_tenant_answers_then_saved_once()
    {
        var settlement = Create();
        _tenantDown = true;
        var state = new JobState { Info = Ended, Outcome = JobOutcome.Completed, ContentExpiryScheduled = true };
        state.Info = state.Info with { ChargedTokens = await settlement.SettleAsync(state, state.Info, JobOutcome.Completed) };
        Assert.Null(state.Info.ChargedTokens);
        Assert.True(settlement.IsPending(state));
        var saves = 0;

        Assert.False(await settlement.CompleteAsync(state, Scheduled, Save));
        Assert.Equal(0, saves);

        _tenantDown = false;
        Assert.True(await settlement.CompleteAsync(state, Scheduled, Save));
        Assert.Equal(4, state.Info.ChargedTokens);
        Assert.Equal(1, saves);
        Assert.False(settlement.IsPending(state));

        // Nothing is left: trying again neither settles nor saves.
        Assert.True(await settlement.CompleteAsync(state, Scheduled, Save));
        Assert.Single(_settled);
        Assert.Equal(1, saves);

        Task<bool> Save()
        {
            saves++;
            return Task.FromResult(true);
        }
    }

    [Fact]
    public async Task A_failed_save_or_expiry_record_keeps_the_job_pending_until_both_succeed()
    {
        var settlement = Create();
        var state = new JobState { Info = Ended with { ChargedTokens = 14 }, Outcome = JobOutcome.Completed };
        settlement.MarkUnsaved();
        var storeUp = false;
        var databaseUp = false;

        Assert.False(await settlement.CompleteAsync(state, ScheduleExpiry, Save));
        Assert.True(settlement.IsPending(state));
        storeUp = true;
        Assert.False(await settlement.CompleteAsync(state, ScheduleExpiry, Save));
        Assert.True(state.ContentExpiryScheduled);
        Assert.True(settlement.IsPending(state));
        databaseUp = true;

        Assert.True(await settlement.CompleteAsync(state, ScheduleExpiry, Save));
        Assert.False(settlement.IsPending(state));
        Assert.Empty(_settled);

        Task<bool> ScheduleExpiry()
        {
            state.ContentExpiryScheduled = storeUp;
            return Task.FromResult(storeUp);
        }

        Task<bool> Save() => Task.FromResult(databaseUp);
    }

    [Fact]
    public void Only_a_finished_job_with_content_and_no_expiry_record_needs_one()
    {
        Assert.True(JobSettlement.NeedsContentExpiry(new JobState { Info = Ended }));
        Assert.False(JobSettlement.NeedsContentExpiry(new JobState { Info = Ended, ContentExpiryScheduled = true }));
        Assert.False(JobSettlement.NeedsContentExpiry(new JobState { Info = Ended with { Status = JobStatus.Running } }));
        var deleted = Ended with { ContentDeleted = new JobContentDeletion(JobContentDeletionReason.DeletedByTenant, DateTimeOffset.UnixEpoch) };
        Assert.False(JobSettlement.NeedsContentExpiry(new JobState { Info = deleted }));
    }

    /// <summary>
    /// A tenant that stays unreachable makes the job grain try again every second: the first failure is an Error, the
    /// ones after it Debug, and the settlement that finally succeeds says so.
    /// </summary>
    [Fact]
    public async Task A_settlement_that_keeps_failing_is_one_error_then_debug_lines_until_it_succeeds()
    {
        var logger = new LevelLogger();
        var settlement = new JobSettlement(SettleAsync, "j", logger);
        var state = new JobState { Info = Ended, Outcome = JobOutcome.Completed, PromptProcessed = true };
        _tenantDown = true;

        for (var attempt = 0; attempt < 4; attempt++)
        {
            Assert.False(await settlement.CompleteAsync(state, Scheduled, () => Task.FromResult(true)));
        }

        _tenantDown = false;
        Assert.True(await settlement.CompleteAsync(state, Scheduled, () => Task.FromResult(true)));

        Assert.Equal(
            [(LogLevel.Error, 1302), (LogLevel.Debug, 1323), (LogLevel.Debug, 1323), (LogLevel.Debug, 1323), (LogLevel.Information, 1310)],
            logger.Lines);
    }

    private JobSettlement Create() => new(SettleAsync, "j", NullLogger.Instance);

    private static Task<bool> Scheduled() => Task.FromResult(true);

    private Task<Settlement> SettleAsync(string tenantId, SettlementRequest request)
    {
        if (_tenantDown)
        {
            throw new TimeoutException("The tenant's silo is gone.");
        }

        _settled.Add((tenantId, request));
        var charged = request.PromptTokens + request.CompletionTokens;
        return Task.FromResult(new Settlement(request.JobId, charged, charged, 0, AlreadySettled: false));
    }

    /// <summary>
    /// The level and event id of each line logged. (Microsoft.Extensions.Diagnostics.Testing's FakeLogger would do, but
    /// adding it fails this project's restore with a package downgrade, NU1109, against the versions the solution pins.)
    /// </summary>
    private sealed class LevelLogger : ILogger
    {
        public List<(LogLevel Level, int Id)> Lines { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Lines.Add((logLevel, eventId.Id));
    }
}
