using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using TokenGrid.Silo.Options;

namespace TokenGrid.Silo.Auth;

/// <summary>
/// The admin API key: configured (<c>TokenGrid:Admin:ApiKey</c>) or made at start. Candidates are compared by their
/// SHA-256 in constant time, so neither the key's length nor its content leaks through timing.
/// </summary>
internal sealed class AdminKey
{
    private readonly byte[] _hash;

    public AdminKey(IOptions<AdminOptions> options)
    {
        IsGenerated = string.IsNullOrEmpty(options.Value.ApiKey);
        Secret = IsGenerated ? "tg-admin-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24)) : options.Value.ApiKey!;
        _hash = SHA256.HashData(Encoding.UTF8.GetBytes(Secret));
        Id = KeyIds.Of(TokenGridAuth.AdminRole, _hash);
    }

    /// <summary>The key's non-secret id (<see cref="KeyIds"/>), the actor of admin actions in the audit log.</summary>
    public string Id { get; }

    /// <summary>The key, kept only to print it at startup.</summary>
    public string Secret { get; }

    /// <summary>True when the key was made at start rather than configured.</summary>
    public bool IsGenerated { get; }

    /// <summary>Whether <paramref name="candidate"/> is the admin key.</summary>
    public bool Matches(string candidate) =>
        CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(candidate)), _hash);
}
