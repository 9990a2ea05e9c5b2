namespace TokenGrid.Inference.Engine;

/// <summary>What happened to a submission.</summary>
public enum SubmitStatus
{
    /// <summary>Queued; read <see cref="SubmitResult.Stream"/>.</summary>
    Accepted,

    /// <summary>The admission queue is full: retry later or elsewhere.</summary>
    Busy,

    /// <summary>The request cannot run on this model; see <see cref="SubmitResult.Error"/>.</summary>
    Invalid,

    /// <summary>The engine is shutting down.</summary>
    Stopped,
}

/// <summary>The outcome of <see cref="InferenceEngine.Submit"/>.</summary>
/// <param name="Status">Accepted, busy, invalid or stopped.</param>
/// <param name="Stream">The token stream when accepted.</param>
/// <param name="Error">Why not, otherwise null.</param>
public sealed record SubmitResult(SubmitStatus Status, GenerationStream? Stream, string? Error)
{
    internal static SubmitResult Invalid(string error) => new(SubmitStatus.Invalid, null, error);
}
