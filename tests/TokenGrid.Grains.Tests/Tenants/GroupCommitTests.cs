using TokenGrid.Grains.Tenants;

namespace TokenGrid.Grains.Tests.Tenants;

/// <summary>
/// <see cref="GroupCommit"/> on its own: steps are applied one at a time in arrival order, saved once per batch and
/// answered only after their save; a failed save fails everything queued, a refused one applies the batch again.
/// </summary>
public sealed class GroupCommitTests
{
    private readonly Queue<TaskCompletionSource<bool>> _saves = new();
    private readonly List<int> _batches = [];
    private readonly List<(string Message, int Steps)> _failures = [];
    private readonly GroupCommit _commit;

    public GroupCommitTests() => _commit = new GroupCommit(
        steps =>
        {
            _batches.Add(steps);
            var save = new TaskCompletionSource<bool>();
            _saves.Enqueue(save);
            return save.Task;
        },
        cause => new InvalidOperationException("unavailable: " + cause.Message),
        (e, steps) => _failures.Add((e.Message, steps)));

    [Fact]
    public Task Steps_queued_during_a_save_are_applied_in_order_as_one_batch_and_answered_only_once_saved() => Inline(async () =>
    {
        var applied = new List<int>();
        var first = _commit.ApplyAsync(() => Record(applied, 0));
        var rest = Enumerable.Range(1, 5).Select(i => _commit.ApplyAsync(() => Record(applied, i))).ToList();
        Assert.Equal([0], applied);
        Assert.Equal([1], _batches);

        _saves.Dequeue().SetResult(true);
        Assert.Equal(0, await first);
        Assert.Equal([0, 1, 2, 3, 4, 5], applied);
        Assert.Equal([1, 5], _batches);
        Assert.All(rest, step => Assert.False(step.IsCompleted));

        _saves.Dequeue().SetResult(true);
        var answers = await Task.WhenAll(rest);
        Assert.Equal([1, 2, 3, 4, 5], answers);
    });

    [Fact]
    public Task A_step_that_throws_answers_its_own_caller_only() => Inline(async () =>
    {
        var failing = _commit.ApplyAsync<int>(() => throw new ArgumentException("bad"));
        var fine = _commit.ApplyAsync(() => 7);
        _saves.Dequeue().SetResult(true);
        _saves.Dequeue().SetResult(true);

        Assert.Equal("bad", (await Assert.ThrowsAsync<ArgumentException>(() => failing)).Message);
        Assert.Equal(7, await fine);
    });

    [Fact]
    public Task A_failed_save_fails_its_batch_and_everything_behind_it_and_every_later_step() => Inline(async () =>
    {
        var applied = new List<int>();
        var first = _commit.ApplyAsync(() => Record(applied, 0));
        var behind = _commit.ApplyAsync(() => Record(applied, 1));
        _saves.Dequeue().SetException(new IOException("disk"));

        Assert.Equal("unavailable: disk", (await Assert.ThrowsAsync<InvalidOperationException>(() => first)).Message);
        Assert.Equal("unavailable: disk", (await Assert.ThrowsAsync<InvalidOperationException>(() => behind)).Message);
        Assert.Equal([("disk", 2)], _failures);
        Assert.Equal([0], applied);

        var later = _commit.ApplyAsync(() => Record(applied, 2));
        Assert.True(later.IsFaulted);
        Assert.Equal([0], applied);
        Assert.Equal([1], _batches);
    });

    [Fact]
    public Task A_refused_save_applies_the_batch_again_before_the_steps_behind_it() => Inline(async () =>
    {
        var applied = new List<int>();
        var first = _commit.ApplyAsync(() => Record(applied, 0));
        var behind = _commit.ApplyAsync(() => Record(applied, 1));
        _saves.Dequeue().SetResult(false);

        Assert.Equal([0, 0, 1], applied);
        Assert.Equal([1, 2], _batches);
        Assert.False(first.IsCompleted);

        _saves.Dequeue().SetResult(true);
        var answers = await Task.WhenAll(first, behind);
        Assert.Equal([0, 1], answers);
        Assert.Empty(_failures);
    });

    private static int Record(List<int> applied, int step)
    {
        applied.Add(step);
        return step;
    }

    /// <summary>
    /// Runs <paramref name="test"/> with no synchronization context, so the commit loop continues inline when a save
    /// completes, on the test's thread, as it would in its grain's single-threaded turns.
    /// </summary>
    private static Task Inline(Func<Task> test) => Task.Run(test);
}
