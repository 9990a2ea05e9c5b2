using TokenGrid.Inference.Models;
using TokenGrid.Inference.Runtime;
using TokenGrid.Inference.Tests.Support;

namespace TokenGrid.Inference.Tests.Models;

/// <summary>ONNX Runtime's own threads carry a name of ours, so a profile or <c>top -H</c> tells them from .NET's.</summary>
/// <remarks>
/// Alone in its collection: other tests' sessions start and stop pool threads of the same name, so counting while they run
/// could both hide ours (theirs exit) and lend us theirs (they start).
/// </remarks>
[Collection(SessionThreadsCollection.Name)]
public sealed class SessionThreadsTests
{
    [Fact]
    public async Task The_intra_op_pool_of_a_session_created_from_the_thread_pool_is_named_for_onnx_runtime()
    {
        var before = ProcThreads.Ort();

        // Created from a thread-pool thread, as a node loads its models: without the dedicated creating thread, the pool's
        // workers would be named ".NET TP Worker".
        var created = await Task.Run(() => SessionFactory.Create(
            ModelConfigReader.FindModelFile(DemoModels.Get(DemoModels.Tiny)), ExecutionProviderPreference.Cpu, intraOpThreads: 3));
        using var session = created.Session;

        // Three intra-op threads: the caller of each run and two workers that ONNX Runtime starts with the session.
        // Threads are told apart by id, not counted, so a pool thread of an earlier session that exits meanwhile cannot hide ours.
        var started = ProcThreads.Ort().Except(before).Count();
        Assert.True(started >= 2, $"expected ONNX Runtime's two pool workers named '{SessionFactory.ThreadName}', found {started} new ones");
    }

    [Fact]
    public async Task A_session_with_one_intra_op_thread_starts_no_pool_threads()
    {
        var before = ProcThreads.Ort();

        // The layout of one engine per core (silo-config/README.md): nothing for CpuModelThreadNice to act on, and no
        // parallel section for a displaced thread to stall.
        var created = await Task.Run(() => SessionFactory.Create(
            ModelConfigReader.FindModelFile(DemoModels.Get(DemoModels.Tiny)), ExecutionProviderPreference.Cpu, intraOpThreads: 1, cpuThreadNice: 5));
        using var session = created.Session;

        // The thread that created the session carries the same name, and Linux may still list it for a moment after the
        // join returns, while it exits: only a thread that stays is a pool thread. (A pool thread never exits while its
        // session is open, so this fails as it should when one starts.)
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        while (ProcThreads.Ort().Except(before).Any() && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }

        Assert.Empty(ProcThreads.Ort().Except(before));
    }

    [Fact]
    public void A_session_that_fails_to_open_throws_its_own_exception_on_the_caller()
    {
        var missing = Path.Combine(Path.GetTempPath(), $"tokengrid-missing-{Guid.NewGuid():N}.onnx");
        Assert.ThrowsAny<Microsoft.ML.OnnxRuntime.OnnxRuntimeException>(() => SessionFactory.Create(missing, ExecutionProviderPreference.Cpu));
    }
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SessionThreadsCollection
{
    public const string Name = "session threads";
}
