using TokenGrid.Abstractions.Nodes;
using TokenGrid.Abstractions.Scheduling;
using TokenGrid.Abstractions.Tenants;
using TokenGrid.Grains.Scheduling;

namespace TokenGrid.Grains.Tests.Scheduling;

/// <summary><see cref="DispatchBook"/> on its own: placement, release, preemption and lost nodes, with no grain.</summary>
public sealed class DispatchBookTests
{
    private static readonly DateTimeOffset s_now = new(2026, 3, 14, 9, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan s_lifetime = TimeSpan.FromSeconds(10);

    [Fact]
    public void Free_slots_are_filled_and_a_job_no_node_may_take_does_not_block_the_next()
    {
        var book = Book(new SchedulingOptions { Preemption = false });
        book.Refresh([Report("n1", slots: 2)], s_now, s_lifetime, _ => false);
        book.Queue.Enqueue(Job("west", "a") with { RequiredLabels = new Dictionary<string, string> { ["region"] = "west" } });
        book.Queue.Enqueue(Job("j1", "b"));
        book.Queue.Enqueue(Job("j2", "c"));
        book.Queue.Enqueue(Job("j3", "d"));

        var started = book.Dispatch(s_now);

        Assert.Equal(["j1", "j2"], started.Select(p => p.Job.Request.JobId));
        Assert.All(started, p => Assert.Equal(("n1", null), (p.NodeId, p.Victim)));
        Assert.Equal(2, book.Queue.Count);
        Assert.Equal(2, book.Running.Count);
        Assert.Equal((1, 1L), (book.Tenants["b"].Running, book.Tenants["b"].Dispatched));
        Assert.True(book.Drain.Rate(s_now) > 0);
    }

    [Fact]
    public void Jobs_placed_in_idle_slots_drain_no_queue_only_runs_that_end_do()
    {
        // After a quiet spell a burst fills every idle slot and the rest wait: nothing has left a full queue yet, so its
        // drain rate is unknown (0), not the burst's placements over the window (which once promised a 5 s wait for 22 s).
        var book = Book(new SchedulingOptions { Preemption = false, DrainRateWindow = TimeSpan.FromSeconds(30) });
        book.Refresh([Report("n1", slots: 4)], s_now, s_lifetime, _ => false);
        for (var i = 0; i < 6; i++)
        {
            book.Queue.Enqueue(Job($"j{i}", "a"));
        }

        Assert.Equal(4, book.Dispatch(s_now).Count);
        Assert.True(book.Drain.Rate(s_now) > 0);
        Assert.Equal(0, book.SlotsFreed.Rate(s_now.AddSeconds(5)));
        Assert.Equal(0, book.Tenants["a"].SlotsFreed.Rate(s_now.AddSeconds(5)));

        // Two runs end 20 s in: two freed slots over the 20 s measured so far, and each takes a waiting job.
        Assert.True(book.Release("j0", 10, s_now.AddSeconds(20)));
        Assert.True(book.Release("j1", 10, s_now.AddSeconds(20)));
        Assert.Equal(2, book.Dispatch(s_now.AddSeconds(20)).Count);
        Assert.Equal(0.1, book.SlotsFreed.Rate(s_now.AddSeconds(20)), 9);
        Assert.Equal(0.1, book.Tenants["a"].SlotsFreed.Rate(s_now.AddSeconds(20)), 9);

        // A job taken out of the queue before it ran frees no slot.
        book.Queue.Enqueue(Job("never", "a"));
        Assert.False(book.Release("never", 0, s_now.AddSeconds(21)));
        Assert.Equal(2, book.SlotsFreed.Rate(s_now.AddSeconds(21)) * 21, 9);
    }

    [Fact]
    public void A_release_frees_the_slot_counts_the_tokens_and_lets_the_next_job_start()
    {
        var book = Book(new SchedulingOptions());
        book.Refresh([Report("n1", slots: 1)], s_now, s_lifetime, _ => false);
        book.Queue.Enqueue(Job("j1", "a"));
        book.Queue.Enqueue(Job("j2", "a"));
        Assert.Single(book.Dispatch(s_now));

        Assert.False(book.Release("j2", 0, s_now));
        Assert.True(book.Release("j1", 25, s_now));
        Assert.Equal((0, 25L), (book.Tenants["a"].Running, book.Tenants["a"].TokensGenerated));
        Assert.Equal(0, book.Node("n1")!.Running);
        Assert.Empty(book.Dispatch(s_now));
    }

    [Fact]
    public void A_high_job_preempts_the_youngest_preemptible_low_job_and_takes_its_slot()
    {
        var book = TwoLowJobsRunning();
        book.Queue.Enqueue(Job("urgent", "live", PriorityClass.High));

        var started = Assert.Single(book.Dispatch(s_now.AddSeconds(2)));

        Assert.Equal(("urgent", "n1", "young", "priority"), (started.Job.Request.JobId, started.NodeId, started.Victim?.Request.JobId, started.Reason));
        Assert.Equal(["old", "urgent"], book.Running.Keys.Order());
        Assert.Equal(1, book.Preemptions);

        // The preempted job's release counts its tokens without freeing a slot it no longer holds.
        Assert.True(book.Release("young", 3, s_now));
        Assert.Equal((1, 3L), (book.Tenants["batch"].Running, book.Tenants["batch"].TokensGenerated));
        Assert.Equal(2, book.Node("n1")!.Running);
    }

    [Fact]
    public void A_job_preempted_before_is_not_the_next_victim_while_one_preempted_less_runs()
    {
        // The batch tenant fills both slots; each urgent job takes one. The first victim comes back (resumed, so it starts
        // last), and the second urgent job must take the other batch job's slot, not the resumed one's again.
        var book = TwoLowJobsRunning();

        book.Queue.Enqueue(Job("urgent1", "live", PriorityClass.High));
        Assert.Equal("young", Assert.Single(book.Dispatch(s_now.AddSeconds(2))).Victim?.Request.JobId);
        Assert.True(book.Release("young", 3, s_now.AddSeconds(2)));
        Assert.True(book.Release("urgent1", 1, s_now.AddSeconds(3)));
        book.Queue.Enqueue(Job("young", "batch", PriorityClass.Low) with { Resumed = true, Preemptions = 1 });
        Assert.Equal("young", Assert.Single(book.Dispatch(s_now.AddSeconds(3))).Job.Request.JobId);

        book.Queue.Enqueue(Job("urgent2", "live", PriorityClass.High));
        var started = Assert.Single(book.Dispatch(s_now.AddSeconds(4)));
        Assert.Equal(("urgent2", "old"), (started.Job.Request.JobId, started.Victim?.Request.JobId));

        // Once every candidate has been preempted, the youngest goes, as before.
        Assert.True(book.Release("old", 3, s_now.AddSeconds(4)));
        Assert.True(book.Release("urgent2", 1, s_now.AddSeconds(5)));
        book.Queue.Enqueue(Job("old", "batch", PriorityClass.Low) with { Resumed = true, Preemptions = 1 });
        Assert.Single(book.Dispatch(s_now.AddSeconds(5)));
        book.Queue.Enqueue(Job("urgent3", "live", PriorityClass.High));
        Assert.Equal("old", Assert.Single(book.Dispatch(s_now.AddSeconds(6))).Victim?.Request.JobId);
    }

    [Fact]
    public void A_node_whose_silo_left_is_lost_with_its_jobs_while_one_merely_unlisted_keeps_its_slots()
    {
        var book = Book(new SchedulingOptions());
        book.Refresh([Report("gone", slots: 1), Report("quiet", slots: 1)], s_now, s_lifetime, _ => false);
        book.Queue.Enqueue(Job("j1", "a"));
        book.Queue.Enqueue(Job("j2", "a"));
        Assert.Equal(2, book.Dispatch(s_now).Count);

        var lost = Assert.Single(book.Refresh([], s_now.AddMinutes(1), s_lifetime, id => id == "gone"));
        Assert.Equal("gone", lost.NodeId);
        var recovered = Assert.Single(book.Lose(lost));

        Assert.Null(book.Node("gone"));
        Assert.Equal(["quiet"], book.Nodes.Select(n => n.NodeId));
        Assert.Null(book.Node("quiet")!.Report);
        Assert.Equal("gone", recovered.NodeId);
        Assert.Equal("quiet", Assert.Single(book.Running.Values).NodeId);
        Assert.Equal(1, book.Tenants["a"].Running);
        Assert.False(book.AnyNodeMayRun(Job("j3", "a"), s_now.AddMinutes(1)));
    }

    [Fact]
    public void A_node_that_falls_silent_takes_no_job_but_jobs_it_could_run_wait_for_it_until_its_grace_ends()
    {
        var book = Book(new SchedulingOptions { SilentNodeGrace = TimeSpan.FromSeconds(30) });
        var west = new Dictionary<string, string> { ["region"] = "west" };
        book.Refresh([Report("n1", slots: 1)], s_now, s_lifetime, _ => false);

        // Reports lapse past their lifetime (the silo was held up), with nothing running there: the node is kept.
        Assert.Empty(book.Refresh([], s_now.AddSeconds(15), s_lifetime, _ => false));
        var silent = book.Node("n1");
        Assert.NotNull(silent);
        Assert.Null(silent.Report);
        Assert.True(book.AnyNodeMayRun(Job("j1", "a"), s_now.AddSeconds(15)));
        Assert.False(book.AnyLiveNodeMayRun(Job("j1", "a")));
        Assert.False(book.AnyNodeMayRun(Job("w", "a") with { RequiredLabels = west }, s_now.AddSeconds(15)));
        book.Queue.Enqueue(Job("j1", "a"));
        Assert.Empty(book.Dispatch(s_now.AddSeconds(15)));

        // It reports again: the waiting job goes to it.
        book.Refresh([Report("n1", slots: 1) with { ReportedAt = s_now.AddSeconds(16) }], s_now.AddSeconds(16), s_lifetime, _ => false);
        Assert.True(book.AnyLiveNodeMayRun(Job("j2", "a")));
        Assert.Equal("n1", Assert.Single(book.Dispatch(s_now.AddSeconds(16))).NodeId);

        // Silent past the grace: new jobs are refused; the running one keeps its slot until it is released, then the node
        // is forgotten.
        book.Refresh([], s_now.AddSeconds(47), s_lifetime, _ => false);
        Assert.False(book.AnyNodeMayRun(Job("j2", "a"), s_now.AddSeconds(47)));
        Assert.Equal(1, book.Node("n1")!.Running);
        Assert.True(book.Release("j1", 4, s_now.AddSeconds(47)));
        book.Refresh([], s_now.AddSeconds(48), s_lifetime, _ => false);
        Assert.Null(book.Node("n1"));
    }

    [Fact]
    public void With_no_silent_node_grace_a_silent_node_is_forgotten_at_once_and_an_unreachable_one_never_waits()
    {
        var none = Book(new SchedulingOptions { SilentNodeGrace = TimeSpan.Zero });
        none.Refresh([Report("n1", slots: 1)], s_now, s_lifetime, _ => false);
        none.Refresh([], s_now.AddSeconds(11), s_lifetime, _ => false);
        Assert.Null(none.Node("n1"));
        Assert.False(none.AnyNodeMayRun(Job("j1", "a"), s_now.AddSeconds(11)));

        // A node a job could not reach is not waited for: that is the silo going, not a late report.
        var book = Book(new SchedulingOptions());
        book.Refresh([Report("n1", slots: 1)], s_now, s_lifetime, _ => false);
        book.Node("n1")!.MarkUnreachable();
        Assert.False(book.AnyNodeMayRun(Job("j1", "a"), s_now.AddSeconds(1)));
    }

    [Fact]
    public void Waiting_jobs_are_given_up_only_once_no_node_has_served_the_model_for_the_grace()
    {
        var grace = TimeSpan.FromSeconds(60);
        var book = Book(new SchedulingOptions { UnservedModelGrace = grace, SilentNodeGrace = TimeSpan.FromSeconds(30) });
        book.Refresh([Report("n1", slots: 1)], s_now, s_lifetime, _ => false);
        book.NoteServed(s_now);
        book.Queue.Enqueue(Job("j1", "a"));
        book.Queue.Enqueue(Job("j2", "b"));
        Assert.Single(book.Dispatch(s_now));
        Assert.Null(book.UnservedSince);

        // Its silo leaves (a restart): the waiting job waits through the grace, measured from then.
        var left = s_now.AddSeconds(5);
        book.Lose(Assert.Single(book.Refresh([], left, s_lifetime, _ => true)));
        book.NoteServed(left);
        Assert.Equal(left, book.UnservedSince);
        Assert.Empty(book.TakeUnserved(left.AddSeconds(59), grace));
        Assert.Equal(1, book.Queue.Count);

        // It comes back within the grace: nothing is given up, and the clock starts over at the next loss.
        book.Refresh([Report("n1", slots: 1) with { ReportedAt = left.AddSeconds(30) }], left.AddSeconds(30), s_lifetime, _ => false);
        book.NoteServed(left.AddSeconds(30));
        Assert.Null(book.UnservedSince);
        book.Lose(Assert.Single(book.Refresh([], left.AddSeconds(40), s_lifetime, _ => true)));
        book.NoteServed(left.AddSeconds(40));
        book.Queue.Enqueue(Job("j3", "a"));
        Assert.Empty(book.TakeUnserved(left.AddSeconds(99), grace));

        // A full grace with no node serving the model: every waiting job is taken out, to be ended.
        var taken = book.TakeUnserved(left.AddSeconds(100), grace);
        Assert.Equal(["j2", "j3"], taken.Select(r => r.JobId).Order());
        Assert.Equal(0, book.Queue.Count);
        Assert.True(book.UnservedFor(left.AddSeconds(100), grace));
    }

    [Fact]
    public void A_node_that_stops_advertising_the_model_takes_no_more_jobs_and_is_not_waited_for()
    {
        var book = Book(new SchedulingOptions { SilentNodeGrace = TimeSpan.FromSeconds(30) });
        book.Refresh([Report("n1", slots: 2), Report("n2", slots: 2)], s_now, s_lifetime, _ => false);
        book.Queue.Enqueue(Job("j1", "a"));
        Assert.Equal("n1", Assert.Single(book.Dispatch(s_now)).NodeId);

        // Both nodes report again, alive, without the model (their loads of it failed): n1 keeps its running job's slot
        // and takes no other; n2, idle, is forgotten; no request waits for either.
        var withdrawn = s_now.AddSeconds(1);
        book.Refresh(
            [Report("n1", slots: 2) with { ReportedAt = withdrawn, Models = [], LoadableModels = [] }, Report("n2", slots: 2) with { ReportedAt = withdrawn, Models = [], LoadableModels = [] }],
            withdrawn, s_lifetime, _ => false);
        book.NoteServed(withdrawn);

        Assert.Null(book.Node("n2"));
        Assert.Equal(1, book.Node("n1")!.Running);
        Assert.False(book.AnyNodeMayRun(Job("j2", "a"), withdrawn));
        Assert.False(book.AnyLiveNodeMayRun(Job("j2", "a")));
        Assert.Equal(withdrawn, book.UnservedSince);
        book.Queue.Enqueue(Job("j2", "a"));
        Assert.Empty(book.Dispatch(withdrawn));
    }

    [Fact]
    public void An_adopted_job_holds_its_slot_once_and_only_on_a_known_node()
    {
        var book = Book(new SchedulingOptions());
        book.Refresh([Report("n1", slots: 2)], s_now, s_lifetime, _ => false);

        Assert.True(book.Adopt(Job("j1", "a"), "n1", s_now));
        Assert.False(book.Adopt(Job("j1", "a"), "n1", s_now));
        Assert.False(book.Adopt(Job("j2", "a"), "elsewhere", s_now));
        Assert.Equal((1, 1), (book.Node("n1")!.Running, book.Tenants["a"].Running));
        Assert.True(book.QueuedOrRunning("j1"));
    }

    [Fact]
    public void Waits_follow_the_drain_rate_within_their_bounds()
    {
        Assert.Null(WaitEstimates.ExpectedWait(3, 0));
        Assert.Equal(TimeSpan.FromSeconds(1.5), WaitEstimates.ExpectedWait(3, 2));

        var (min, max) = (TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60));
        Assert.Equal(max, WaitEstimates.RetryAfter(5, 0, min, max));
        Assert.Equal(TimeSpan.FromSeconds(3), WaitEstimates.RetryAfter(5, 2, min, max));
        Assert.Equal(min, WaitEstimates.RetryAfter(1, 100, min, max));
        Assert.Equal(max, WaitEstimates.RetryAfter(1000, 1, min, max));
    }

    [Fact]
    public void A_job_runs_only_on_nodes_serving_its_model_from_its_files_and_waits_for_one_rather_than_take_another()
    {
        var book = Book(new SchedulingOptions { Preemption = false });
        book.Refresh(
            [Report("old", 1) with { ModelFingerprints = new Dictionary<string, string> { ["m"] = "fp_old" } },
                Report("new", 1) with { ModelFingerprints = new Dictionary<string, string> { ["m"] = "fp_new" } }],
            s_now, s_lifetime, _ => false);
        var onNew = Job("first-new", "a") with { ModelFingerprint = "fp_new" };
        var secondNew = Job("second-new", "b") with { ModelFingerprint = "fp_new" };
        var onOld = Job("on-old", "c") with { ModelFingerprint = "fp_old" };
        var gone = Job("gone", "d") with { ModelFingerprint = "fp_gone" };

        book.Queue.Enqueue(onNew);
        book.Queue.Enqueue(secondNew);
        var started = book.Dispatch(s_now);

        // The node with the old files is free, but the second job waits for the one with its own.
        Assert.Equal([("first-new", "new")], started.Select(p => (p.Job.Request.JobId, p.NodeId)));
        Assert.Equal(1, book.Queue.Count);
        book.Queue.Enqueue(onOld);
        Assert.Equal([("on-old", "old")], book.Dispatch(s_now).Select(p => (p.Job.Request.JobId, p.NodeId)));
        Assert.True(book.AnyNodeMayRun(onOld, s_now));
        Assert.False(book.AnyNodeMayRun(gone, s_now));
        Assert.False(book.AnyLiveNodeMayRun(gone));

        // A job from before fingerprints takes any node; a node from before them takes any job.
        Assert.True(book.AnyNodeMayRun(Job("unmarked", "e"), s_now));
        book.Refresh([Report("older-release", 1)], s_now, s_lifetime, _ => false);
        Assert.True(book.AnyNodeMayRun(gone, s_now));
    }

    private static DispatchBook Book(SchedulingOptions options) => new("m", options);

    /// <summary>One node of two slots, each running a Low job of the batch tenant: "old" from now, "young" a second later.</summary>
    private static DispatchBook TwoLowJobsRunning()
    {
        var book = Book(new SchedulingOptions { FairSharePreemption = false });
        book.Refresh([Report("n1", slots: 2)], s_now, s_lifetime, _ => false);
        book.Queue.Enqueue(Job("old", "batch", PriorityClass.Low));
        book.Dispatch(s_now);
        book.Queue.Enqueue(Job("young", "batch", PriorityClass.Low));
        book.Dispatch(s_now.AddSeconds(1));
        return book;
    }

    private static NodeReport Report(string id, int slots) => new()
    {
        NodeId = id,
        Silo = "s",
        Device = "cpu0",
        Provider = "Cpu",
        Models = ["m"],
        LoadableModels = ["m"],
        MaxBatchSize = slots,
        Labels = new Dictionary<string, string>(),
        ReportedAt = s_now,
    };

    private static DispatchRequest Job(string id, string tenant, PriorityClass priority = PriorityClass.Standard) => new()
    {
        JobId = id,
        TenantId = tenant,
        Priority = priority,
        PromptTokens = 10,
        MaxTokens = 40,
        EnqueuedAt = s_now,
    };
}
