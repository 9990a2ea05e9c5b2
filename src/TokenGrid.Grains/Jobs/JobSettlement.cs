using Microsoft.Extensions.Logging;
using TokenGrid.Abstractions.Jobs;
using TokenGrid.Abstractions.Billing;
using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.Nodes;

namespace TokenGrid.Grains.Jobs;

/// <summary>
/// The bookkeeping of an ended job: its settlement with the tenant (the tokens it used; the prompt only when a node took
/// it), the record of its content's expiry, and the save of the ended job. Any of them can fail (the tenant's silo died,
/// the database restarts); <see cref="CompleteAsync"/> tries again what is left, and the job grain calls it until it
/// returns true. Settling is idempotent, so trying again cannot charge twice. Not thread-safe: the job grain's scheduler
/// is its lock.
/// </summary>
/// <param name="settle">Settles with the tenant of the given id.</param>
/// <param name="jobId">The job, for the log.</param>
/// <param name="logger">The job grain's logger.</param>
/// <param name="sibling">Reads another job (a sibling choice); null when there is none to read.</param>
public sealed partial class JobSettlement(
    Func<string, SettlementRequest, Task<Settlement>> settle, string jobId, ILogger logger, Func<string, Task<JobInfo?>>? sibling = null)
{
    private bool _unsaved;
    private int _failedSettles;

    /// <summary>Whether the ended job in <paramref name="state"/> is still to be settled or saved.</summary>
    public bool IsPending(JobState state) =>
        _unsaved || state is { Info: { IsFinished: true, ChargedTokens: null }, Outcome: not null };

    /// <summary>A finished job with content whose expiry is not yet in the store.</summary>
    public static bool NeedsContentExpiry(JobState state) =>
        state is { Info: { IsFinished: true, ContentDeleted: null }, ContentExpiryScheduled: false };

    /// <summary>
    /// Makes an ended job that was refused at admission, and so had nothing to settle, settle for nothing: it is woken as
    /// a job its tenant holds a reservation for (one made before its own admission, as a choice's with its group), and
    /// settling closes that reservation; a tenant holding none records nothing. Other jobs are left as they are.
    /// </summary>
    public static void SettleRefused(JobState state)
    {
        if (state is { Outcome: null, Info.ChargedTokens: null })
        {
            state.Outcome = JobOutcome.Failed;
        }
    }

    /// <summary>Notes that the ended job's state changed since it was last saved.</summary>
    public void MarkUnsaved() => _unsaved = true;

    /// <summary>
    /// The prompt tokens charged: the prompt when it reached a node that took it; choices of an n &gt; 1 request share
    /// one prompt, charged to choice 0 (as OpenAI counts usage: the prompt once).
    /// </summary>
    public static int ChargedPrompt(JobState state, JobInfo info)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(info);
        return state.PromptProcessed && state.Spec?.Choice is not { ChargesPrompt: false } ? info.PromptTokens : 0;
    }

    /// <summary>Settles with the tenant; the charge, or null when settling failed (to be tried again).</summary>
    public async Task<long?> SettleAsync(JobState state, JobInfo info, JobOutcome outcome)
    {
        var prompt = ChargedPrompt(state, info);
        try
        {
            if (prompt == 0 && state.Spec?.Choice is { ChargesPrompt: true, Siblings.Count: > 0 } choice && await SiblingRanAsync(choice))
            {
                // The group's prompt is charged once, to choice 0, whichever choice ran on it.
                prompt = info.PromptTokens;
            }

            var settlement = await settle(info.TenantId, new SettlementRequest(info.Id, prompt, info.CompletionTokens, outcome)
            {
                Place = PlaceOf(info),
                CachedPromptTokens = Math.Min(info.CachedPromptTokens, prompt),
            });
            return settlement.Charged;
        }
        catch (Exception e)
        {
            // The job grain tries again every second until it settles: the first failure is the news, the rest only
            // say it goes on (and LogSettledLate says when it ends), so a tenant's long outage is not an Error a second.
            if (_failedSettles++ == 0)
            {
                LogSettleFailed(logger, e, info.Id, info.TenantId);
            }
            else
            {
                LogSettleFailedAgain(logger, e, info.Id, info.TenantId, _failedSettles);
            }

            return null;
        }
    }

    /// <summary>
    /// Whether a sibling of choice 0 ran on the group's prompt (it produced a token). A sibling that cannot be read counts
    /// as not run: the choice settles all the same, and never charges a prompt nobody may have computed.
    /// </summary>
    private async Task<bool> SiblingRanAsync(JobChoice choice)
    {
        if (sibling is null)
        {
            return false;
        }

        foreach (var id in choice.Siblings ?? [])
        {
            try
            {
                if (await sibling(id) is { CompletionTokens: > 0 })
                {
                    return true;
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogSiblingUnread(logger, e, jobId, id);
            }
        }

        return false;
    }

    /// <summary>Where the job's tokens were created: the node that finished it, or null when no node ran it.</summary>
    public static CreationPlace? PlaceOf(JobInfo info) =>
        info.NodeId is { } node && NodeId.TryParse(node, out var silo, out _) ? new CreationPlace(node, silo, info.NodeRegion) : null;

    /// <summary>
    /// One try at what is left of an ended job: settling (when it failed before), recording the content's expiry through
    /// <paramref name="scheduleExpiry"/> (false when the store could not be reached), then saving through
    /// <paramref name="save"/> (false when the save failed) when anything changed. True once nothing is left.
    /// </summary>
    public async Task<bool> CompleteAsync(JobState state, Func<Task<bool>> scheduleExpiry, Func<Task<bool>> save)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(scheduleExpiry);
        ArgumentNullException.ThrowIfNull(save);
        if (state is { Info: { IsFinished: true, ChargedTokens: null } info, Outcome: { } outcome })
        {
            if (await SettleAsync(state, info, outcome) is not { } charged)
            {
                return false;
            }

            state.Info = info with { ChargedTokens = charged };
            _unsaved = true;
            LogSettledLate(logger, jobId, charged);
        }

        if (NeedsContentExpiry(state))
        {
            if (!await scheduleExpiry())
            {
                return false;
            }

            _unsaved = true;
        }

        if (_unsaved)
        {
            if (!await save())
            {
                return false;
            }

            _unsaved = false;
        }

        return true;
    }
}
