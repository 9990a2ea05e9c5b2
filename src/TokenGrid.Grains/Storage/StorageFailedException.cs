namespace TokenGrid.Grains.Storage;

/// <summary>
/// A grain could not save or read its state because the database refused the statement for a reason a retry does not
/// fix: a violated constraint, a missing table or column, a privilege the role lacks (HTTP 500, logged at Error with
/// its SQLSTATE). Nothing the caller asked for was applied. Made from the database's exception where it happened, so
/// the SQLSTATE crosses silos with it.
/// </summary>
[GenerateSerializer, Alias("tg.StorageFailedException")]
public sealed class StorageFailedException(string message, string? sqlState) : Exception(message)
{
    /// <summary>The database's SQLSTATE (for example <c>42501</c>, insufficient privilege), or null when it gave none.</summary>
    [Id(0)]
    public string? SqlState { get; } = sqlState;

    /// <summary>
    /// The exception a grain fails with when its save failed with <paramref name="cause"/>: a
    /// <see cref="StorageFailedException"/> for a database error a retry does not fix
    /// (<see cref="DatabaseErrors.IsPermanent"/>), else, as for any other failure of the store, a
    /// <see cref="StorageUnavailableException"/>. <paramref name="what"/> says what failed ("Tenant 'a' could not save
    /// its state").
    /// </summary>
    public static Exception For(Exception cause, string what)
    {
        ArgumentNullException.ThrowIfNull(cause);
        return DatabaseErrors.IsPermanent(cause)
            ? new StorageFailedException($"{what} ({cause.Message}); nothing was applied.", DatabaseErrors.SqlState(cause))
            : new StorageUnavailableException($"{what} ({cause.Message}); nothing was applied, retry shortly.");
    }
}
