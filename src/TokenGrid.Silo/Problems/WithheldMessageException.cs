namespace TokenGrid.Silo.Problems;

/// <summary>
/// Stands in for an unexpected exception in a log line at Error: its type and stack trace, without its message or inner
/// exceptions, which may quote the request (a prompt, a stop sequence, a key). The original is logged at Debug.
/// </summary>
internal sealed class WithheldMessageException(Exception original)
    : Exception($"{original.GetType().FullName} (message withheld, as it may quote the request; logged in full at Debug)")
{
    /// <summary>The original exception's stack trace.</summary>
    public override string? StackTrace => original.StackTrace;
}
