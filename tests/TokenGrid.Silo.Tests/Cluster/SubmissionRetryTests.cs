using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests.Cluster;

/// <summary>
/// A submission that fails because the job's silo is dying is sent again, not answered 503: before, an <c>n</c> &gt; 1
/// request whose choices were partly submitted failed as a whole after the others had run and been charged, so a tenant
/// that followed the 503's advice paid twice. The failures are injected at the silo's outgoing calls, as a dying silo
/// gives them: one reply lost after the job took its spec, and one call that never reached the job.
/// </summary>
public sealed class SubmissionRetryTests : IAsyncLifetime
{
    private readonly FirstSubmissionsFail _failures = new();
    private TokenGridServer _server = null!;

    public async Task InitializeAsync() =>
        _server = await TokenGridServer.StartAsync(services: s => s.AddSingleton<IOutgoingGrainCallFilter>(_failures));

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Choices_whose_submissions_meet_a_dying_silo_all_run_once_and_are_charged_once()
    {
        var (tenant, key) = await _server.CreateTenantAsync();
        using var client = _server.Client(key);
        _failures.Arm(2);

        var reply = await client.PostOkAsync("v1/completions",
            """{"model":"demo","prompt":"Once each","max_tokens":5,"temperature":1,"seed":3,"n":2,"ignore_eos":true}""");

        Assert.Equal(2, _failures.Failed);
        Assert.Equal(2, reply["choices"]!.AsArray().Count);
        var prompt = reply["usage"]!["prompt_tokens"]!.GetValue<int>();
        Assert.Equal(10, reply["usage"]!["completion_tokens"]!.GetValue<int>());

        // Each choice reserved, was charged and refunded once: the repeat found the job the lost reply had started.
        using var admin = _server.Client(TokenGridServer.AdminKey);
        var ledger = (await (await admin.GetAsync($"admin/tenants/{tenant}/ledger?after=0&limit=100")).ReadJsonAsync())["entries"]!.AsArray();
        var charges = ledger.Where(e => e!["kind"]!.GetValue<string>() == "charge").ToList();
        Assert.Equal(2, ledger.Count(e => e!["kind"]!.GetValue<string>() == "reserve"));
        Assert.Equal(2, charges.Count);
        Assert.Equal(prompt + 10, charges.Sum(c => c!["tokens"]!.GetValue<long>()));
        Assert.Equal(2, charges.Select(c => c!["job_id"]!.GetValue<string>()).Distinct().Count());
    }

    [Fact]
    public async Task A_single_choice_whose_reply_was_lost_is_answered_with_its_one_job()
    {
        var (_, key) = await _server.CreateTenantAsync();
        using var client = _server.Client(key);
        _failures.Arm(1);

        var reply = await client.PostOkAsync("v1/chat/completions",
            """{"model":"demo","messages":[{"role":"user","content":"Hello"}],"max_tokens":4,"ignore_eos":true}""");

        Assert.Equal(1, _failures.Failed);
        Assert.Equal(4, reply["usage"]!["completion_tokens"]!.GetValue<int>());
        var jobs = (await (await client.GetAsync("v1/jobs")).ReadJsonAsync())["data"]!.AsArray();
        Assert.Single(jobs);
    }

    /// <summary>
    /// Fails the first submission to each of the next <c>n</c> job grains as a dying silo does: the first after the job
    /// took it (its reply lost), the others before it arrives.
    /// </summary>
    private sealed class FirstSubmissionsFail : IOutgoingGrainCallFilter
    {
        private readonly ConcurrentDictionary<GrainId, bool> _seen = new();
        private int _armed;
        private int _failed;

        public int Failed => Volatile.Read(ref _failed);

        public void Arm(int jobs)
        {
            _seen.Clear();
            Volatile.Write(ref _failed, 0);
            Volatile.Write(ref _armed, jobs);
        }

        public async Task Invoke(IOutgoingGrainCallContext context)
        {
            if (context.MethodName != "SubmitAsync" || context.TargetId.Type.ToString() != "job" || !_seen.TryAdd(context.TargetId, true)
                || Interlocked.Decrement(ref _armed) < 0)
            {
                await context.Invoke();
                return;
            }

            var first = Interlocked.Increment(ref _failed) == 1;
            if (first)
            {
                await context.Invoke();
            }

            throw new SiloUnavailableException($"Injected: the silo of {context.TargetId} is dying.");
        }
    }
}
