namespace TokenGrid.Grains;

/// <summary>
/// A field of a caller's request is invalid (HTTP 400 naming <see cref="Field"/>): a tenant's name or budget, a key's
/// name, a page size. The field travels as a property of its own: <see cref="ArgumentException.ParamName"/> does not
/// survive a call between silos.
/// </summary>
[GenerateSerializer, Alias("tg.InvalidFieldException")]
public sealed class InvalidFieldException(string field, string message) : ArgumentException(message)
{
    /// <summary>The field's path in the API's request: <c>name</c>, <c>budget.weight</c>, <c>budget.plan.name</c>, <c>limit</c>.</summary>
    [Id(0)] public string Field { get; } = field;
}
