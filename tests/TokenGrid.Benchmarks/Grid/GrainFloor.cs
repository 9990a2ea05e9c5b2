using System.Runtime.CompilerServices;
using System.Text;
using Orleans.Concurrency;
using TokenGrid.Grains.Nodes;
using TokenGrid.Inference.Engine;

namespace TokenGrid.Benchmarks.Grid;

/// <summary>
/// How <see cref="HttpFloor"/> reaches its engines: directly, or through one grain whose stream carries the chunks, the
/// least any design meets that lets the HTTP path reach tokens only through grains.
/// </summary>
internal enum FloorPath
{
    /// <summary>The HTTP handler reads the engine's stream itself.</summary>
    Direct,

    /// <summary>Every request streams through one shared, reentrant grain: one grain hop per chunk, no activation per request.</summary>
    SharedGrain,

    /// <summary>Every request streams through a grain of its own, activated for it as a job grain is, and deactivated after.</summary>
    GrainPerRequest,

    /// <summary>
    /// As <see cref="GrainPerRequest"/>, and that grain is admitted by a tenant grain before it runs and settles with it
    /// after: the two calls that metering every request against a budget in a tenant grain cannot do without.
    /// </summary>
    AdmittedGrainPerRequest,
}

/// <summary>What a floor grain streams: a chunk's text, or (last) the request's usage.</summary>
[GenerateSerializer, Immutable]
internal sealed record FloorChunk([property: Id(0)] string Text, [property: Id(1)] int PromptTokens, [property: Id(2)] int CompletionTokens, [property: Id(3)] bool Final);

/// <summary>The floor's grain: a request's tokens, paced as the grid's node paces them.</summary>
internal interface IFloorStreamGrain : IGrainWithGuidKey
{
    IAsyncEnumerable<FloorChunk> GenerateAsync(int[] prompt, int maxTokens, bool admitted);
}

/// <summary>The least a tenant grain does for a request: reserve its most tokens, then settle what it used.</summary>
internal interface IFloorTenantGrain : IGrainWithIntegerKey
{
    Task<bool> AdmitAsync(int maxTokens);

    Task SettleAsync(int maxTokens, int usedTokens);
}

/// <summary>See <see cref="IFloorTenantGrain"/>: a budget that never runs out, reserved and settled exactly.</summary>
internal sealed class FloorTenantGrain : Grain, IFloorTenantGrain
{
    private long _reserved;
    private long _used;

    public Task<bool> AdmitAsync(int maxTokens)
    {
        _reserved += maxTokens;
        return Task.FromResult(true);
    }

    public Task SettleAsync(int maxTokens, int usedTokens)
    {
        _reserved -= maxTokens;
        _used += usedTokens;
        return Task.CompletedTask;
    }
}

/// <summary>
/// The engines a floor serves, each request on the one with the fewest in flight. Chunks are coalesced as the grid's
/// node coalesces them (<see cref="StreamPacer"/>): what the engine has produced goes out at once, and the next chunk
/// waits out the stream interval once.
/// </summary>
internal sealed class FloorEngines(IReadOnlyList<InferenceEngine> engines, TimeSpan interval)
{
    private readonly int[] _inFlight = new int[engines.Count];

    /// <summary>One request's chunks, then its usage.</summary>
    public async IAsyncEnumerable<FloorChunk> GenerateAsync(int[] prompt, int maxTokens, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        int chosen;
        lock (_inFlight)
        {
            chosen = Array.IndexOf(_inFlight, _inFlight.Min());
            _inFlight[chosen]++;
        }

        try
        {
            await foreach (var chunk in PacedAsync(engines[chosen], prompt, maxTokens, cancellationToken))
            {
                yield return chunk;
            }
        }
        finally
        {
            lock (_inFlight)
            {
                _inFlight[chosen]--;
            }
        }
    }

    private async IAsyncEnumerable<FloorChunk> PacedAsync(InferenceEngine engine, int[] prompt, int maxTokens, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var stream = engine.Submit(new GenerationRequest { PromptTokens = prompt, MaxTokens = maxTokens }, cancellationToken).Stream
            ?? throw new InvalidOperationException("The engine refused a benchmark request.");
        var pacer = new StreamPacer(interval, TimeProvider.System);
        var text = new StringBuilder();
        await using var tokens = stream.GetAsyncEnumerator(cancellationToken);
        var hasToken = await tokens.MoveNextAsync();
        while (hasToken)
        {
            text.Clear();
            Task<bool>? reading = null;
            do
            {
                text.Append(tokens.Current.Text);
                var next = tokens.MoveNextAsync();
                if (next.IsCompletedSuccessfully)
                {
                    hasToken = next.Result;
                    continue;
                }

                var pending = next.AsTask();
                await pacer.WaitAsync(stream.Completion, cancellationToken);
                if (pending.IsCompleted)
                {
                    hasToken = await pending;
                }
                else
                {
                    reading = pending;
                }
            }
            while (reading is null && hasToken);

            pacer.OnSent();
            yield return new FloorChunk(text.ToString(), 0, 0, Final: false);
            if (reading is not null)
            {
                hasToken = await reading;
            }
        }

        var result = await stream.Completion;
        yield return new FloorChunk("", result.PromptTokens, result.CompletionTokens, Final: true);
    }
}

/// <summary>A measuring instrument, not a product path (see <see cref="FloorPath"/>): a request's chunks relayed from <see cref="FloorEngines"/>.</summary>
[Reentrant]
internal sealed class FloorStreamGrain(FloorEngines engines) : Grain, IFloorStreamGrain
{
    public IAsyncEnumerable<FloorChunk> GenerateAsync(int[] prompt, int maxTokens, bool admitted) =>
        GenerateCoreAsync(prompt, maxTokens, admitted ? GrainFactory.GetGrain<IFloorTenantGrain>(0) : null, CancellationToken.None);

    // Orleans cancels the token given to GetAsyncEnumerator when the caller disposes or cancels the enumeration.
    private async IAsyncEnumerable<FloorChunk> GenerateCoreAsync(
        int[] prompt, int maxTokens, IFloorTenantGrain? tenant, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (tenant is not null && !await tenant.AdmitAsync(maxTokens))
        {
            yield break;
        }

        await foreach (var chunk in engines.GenerateAsync(prompt, maxTokens, cancellationToken))
        {
            if (chunk.Final && tenant is not null)
            {
                await tenant.SettleAsync(maxTokens, chunk.CompletionTokens);
            }

            yield return chunk;
        }

        if (this.GetPrimaryKey() != Guid.Empty)
        {
            // A grain of its own per request, as a job's: it goes once its request has been served.
            DeactivateOnIdle();
        }
    }
}
