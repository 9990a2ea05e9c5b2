using TokenGrid.Inference.Engine;
using TokenGrid.Inference.Models;
using TokenGrid.Inference.Runtime;
using TokenGrid.Inference.Tests.Support;

namespace TokenGrid.Inference.Tests.Models;

/// <summary>
/// A CPU model's ONNX Runtime intra-op pool runs at the nice value asked for, as Linux reads it back in <c>/proc</c>, and
/// no other thread of the process does: not the caller, nor the engine's decode thread.
/// </summary>
/// <remarks>In <see cref="SessionThreadsCollection"/>: it tells a new session's pool threads apart from the others' by id.</remarks>
[Collection(SessionThreadsCollection.Name)]
public sealed class ModelThreadNiceTests
{
    [Fact]
    public async Task A_cpu_session_opened_with_a_nice_value_starts_its_pool_at_that_value_and_leaves_the_caller_as_it_was()
    {
        var before = ProcThreads.Ort();
        var caller = await Task.Run(() =>
        {
            var created = SessionFactory.Create(ModelFile, ExecutionProviderPreference.Cpu, intraOpThreads: 3, cpuThreadNice: 7);
            return (Created: created, Nice: ProcThreads.NiceOf(ProcThreads.CurrentId()));
        });
        using var session = caller.Created.Session;

        Assert.All(NewPoolNices(before), nice => Assert.Equal(7, nice));
        Assert.Equal(7, caller.Created.ThreadNice);
        Assert.Equal(ProcThreads.ProcessNice(), caller.Nice);
    }

    [Fact]
    public async Task Without_a_nice_value_the_pool_runs_at_the_process_value()
    {
        var before = ProcThreads.Ort();
        var created = await Task.Run(() => SessionFactory.Create(ModelFile, ExecutionProviderPreference.Cpu, intraOpThreads: 3));
        using var session = created.Session;

        Assert.All(NewPoolNices(before), nice => Assert.Equal(ProcThreads.ProcessNice(), nice));
        Assert.Equal(0, created.ThreadNice);
    }

    [Fact]
    public async Task An_engine_over_a_niced_session_keeps_its_decode_thread_at_the_process_value()
    {
        var name = $"tg-nice-{Guid.NewGuid():N}"[..15];
        var before = ProcThreads.Ort();
        await using var run = EngineRun.Start(
            DemoModels.Get(DemoModels.Tiny), new EngineOptions { ThreadName = name }, load: new ModelLoadOptions { CpuThreadNice = 5, IntraOpThreads = 3 });

        // A finished sequence means the decode loop has run (and has handed tokens to thread-pool readers).
        await EngineRun.ReadAllAsync(run.Submit(EngineRun.Greedy([1, 2, 3], 2)));

        // The pool yields; the decode thread, which runs .NET code that may start thread-pool threads (a new thread takes
        // its creator's value), does not.
        Assert.Equal(5, run.Model.ThreadNice);
        Assert.All(NewPoolNices(before), nice => Assert.Equal(5, nice));
        var decode = Assert.Single(ProcThreads.Named(name));
        Assert.Equal(ProcThreads.ProcessNice(), ProcThreads.NiceOf(decode));
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(20)]
    public void A_nice_value_outside_linux_range_is_refused(int nice)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => SessionFactory.Create(ModelFile, ExecutionProviderPreference.Cpu, cpuThreadNice: nice));
        Assert.Throws<ArgumentOutOfRangeException>(() => ThreadNiceness.TrySet(nice));
    }

    [Fact]
    public void A_failed_setpriority_says_which_error_it_was()
    {
        // No thread has the largest id, so Linux answers ESRCH (3), as it answers EACCES to a process that may not lower
        // its value: the reason names the error by number and by libc's message, which the engine logs as a warning.
        var reason = ThreadNiceness.TrySet(5, threadId: int.MaxValue);

        Assert.NotNull(reason);
        Assert.Contains("setpriority(5) failed with errno 3: ", reason, StringComparison.Ordinal);
        Assert.Contains("No such process", reason, StringComparison.Ordinal);
    }

    private static string ModelFile => ModelConfigReader.FindModelFile(DemoModels.Get(DemoModels.Tiny));


    /// <summary>
    /// The nice values of the ONNX Runtime pool threads started since <paramref name="before"/> and still running when
    /// read: a session another test disposes meanwhile ends its own threads between the listing and the reading.
    /// </summary>
    private static List<int> NewPoolNices(IReadOnlyList<string> before)
    {
        var nices = ProcThreads.Ort().Except(before).Select(ProcThreads.TryNiceOf).OfType<int>().ToList();
        Assert.True(nices.Count >= 2, $"expected ONNX Runtime's two pool workers, found {nices.Count} new ones");
        return nices;
    }
}
