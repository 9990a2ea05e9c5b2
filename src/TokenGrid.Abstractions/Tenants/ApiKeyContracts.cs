namespace TokenGrid.Abstractions.Tenants;

/// <summary>An API key as listed: never the secret, which is shown once at issue and stored only as a hash.</summary>
[GenerateSerializer, Immutable, Alias("tg.ApiKeyInfo")]
public sealed record ApiKeyInfo(
    [property: Id(0)] string KeyId,
    [property: Id(1)] string TenantId,
    [property: Id(2)] string Name,
    [property: Id(3)] string Prefix,
    [property: Id(4)] DateTimeOffset CreatedAt,
    [property: Id(5)] DateTimeOffset? RevokedAt);

/// <summary>A newly issued key: <see cref="Secret"/> is shown this once.</summary>
[GenerateSerializer, Immutable, Alias("tg.IssuedApiKey")]
public sealed record IssuedApiKey(
    [property: Id(0)] ApiKeyInfo Key,
    [property: Id(1)] string Secret);
