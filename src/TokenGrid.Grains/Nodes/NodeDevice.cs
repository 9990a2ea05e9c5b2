namespace TokenGrid.Grains.Nodes;

/// <summary>
/// One device of this silo: its models and engines, labels, drain flag and outstanding work. Owned by
/// <see cref="NodeRuntime"/> for the silo's life, so what it holds survives the node grain's reactivation. Thread-safe.
/// </summary>
public sealed class NodeDevice : IAsyncDisposable
{
    private long _outstandingTokens;
    private volatile bool _draining;

    internal NodeDevice(string name, string nodeId, IReadOnlyDictionary<string, string> labels, NodeModels models)
    {
        Name = name;
        NodeId = nodeId;
        Labels = labels;
        Models = models;
    }

    /// <summary>Device name (<c>cpu0</c>, <c>gpu1</c>).</summary>
    public string Name { get; }

    /// <summary>The node id: <c>{silo}/{device}</c>.</summary>
    public string NodeId { get; }

    /// <summary>Labels from configuration (silo-wide ones with the device's own over them).</summary>
    public IReadOnlyDictionary<string, string> Labels { get; }

    /// <summary>The models the node serves, loaded or not.</summary>
    public NodeModels Models { get; }

    /// <summary>True between a drain and a resume: new sequences are refused.</summary>
    public bool Draining
    {
        get => _draining;
        set => _draining = value;
    }

    /// <summary>Prompt plus remaining output tokens of the sequences queued or running on the node.</summary>
    public long OutstandingTokens => Interlocked.Read(ref _outstandingTokens);

    /// <summary>Counts a sequence's tokens as outstanding until its ticket ends.</summary>
    public SequenceTicket BeginSequence(int promptTokens, int maxTokens) => new(this, promptTokens, maxTokens);

    /// <inheritdoc />
    public ValueTask DisposeAsync() => Models.DisposeAsync();

    internal void AddOutstanding(long tokens) => Interlocked.Add(ref _outstandingTokens, tokens);
}

/// <summary>
/// One sequence's share of <see cref="NodeDevice.OutstandingTokens"/>: its prompt plus the output it may still
/// produce, from submission until it leaves the engine. Thread-safe; <see cref="End"/> is idempotent.
/// </summary>
public sealed class SequenceTicket
{
    private readonly NodeDevice _device;
    private readonly Lock _lock = new();
    private readonly int _prompt;
    private int _remainingOutput;
    private bool _ended;

    internal SequenceTicket(NodeDevice device, int promptTokens, int maxTokens)
    {
        _device = device;
        _prompt = promptTokens;
        _remainingOutput = maxTokens;
        device.AddOutstanding(promptTokens + (long)maxTokens);
    }

    /// <summary>The sequence produced <paramref name="tokens"/> more tokens.</summary>
    public void OnTokens(int tokens)
    {
        lock (_lock)
        {
            if (_ended)
            {
                return;
            }

            var done = Math.Min(tokens, _remainingOutput);
            _remainingOutput -= done;
            _device.AddOutstanding(-done);
        }
    }

    /// <summary>The sequence left the engine: nothing of it is outstanding any more.</summary>
    public void End()
    {
        lock (_lock)
        {
            if (!_ended)
            {
                _ended = true;
                _device.AddOutstanding(-(_prompt + (long)_remainingOutput));
            }
        }
    }
}
