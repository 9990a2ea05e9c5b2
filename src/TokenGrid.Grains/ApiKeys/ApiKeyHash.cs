using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace TokenGrid.Grains.ApiKeys;

/// <summary>
/// API key secrets and their hashes. A secret is <c>tg-</c> plus 32 random bytes in base64url; only its lowercase hex
/// SHA-256 is stored, and that hash is the key of <c>IApiKeyGrain</c>.
/// </summary>
public static class ApiKeyHash
{
    /// <summary>What every secret starts with.</summary>
    public const string SecretPrefix = "tg-";

    /// <summary>The lowercase hex SHA-256 of the UTF-8 <paramref name="secret"/>.</summary>
    public static string Hash(string secret)
    {
        ArgumentNullException.ThrowIfNull(secret);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));
    }

    /// <summary>Whether <paramref name="secret"/> hashes to <paramref name="hash"/>, compared in constant time.</summary>
    public static bool Verify(string secret, string hash)
    {
        ArgumentNullException.ThrowIfNull(hash);
        return CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Hash(secret)), Encoding.ASCII.GetBytes(hash));
    }

    /// <summary>A new secret: <c>tg-</c> and 43 base64url characters.</summary>
    internal static string NewSecret() => SecretPrefix + Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));

    /// <summary>A new key id: <c>key_</c> and 12 lowercase hex characters.</summary>
    internal static string NewKeyId() => "key_" + RandomNumberGenerator.GetHexString(12, lowercase: true);

    /// <summary>What a listing shows of a secret: its first 7 characters and an ellipsis.</summary>
    internal static string PrefixOf(string secret) => secret[..7] + "…";
}
