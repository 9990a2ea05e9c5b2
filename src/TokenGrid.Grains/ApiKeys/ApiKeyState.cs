using TokenGrid.Abstractions.Tenants;

namespace TokenGrid.Grains.ApiKeys;

/// <summary>What an API key grain persists: the key it is bound to, if any.</summary>
[GenerateSerializer, Alias("tg.ApiKeyState")]
public sealed class ApiKeyState
{
    /// <summary>The key, with <see cref="ApiKeyInfo.RevokedAt"/> once revoked; null while unbound.</summary>
    [Id(0)] public ApiKeyInfo? Key { get; set; }
}
