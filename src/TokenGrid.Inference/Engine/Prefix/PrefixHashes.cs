using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace TokenGrid.Inference.Engine.Prefix;

/// <summary>
/// The key of one cached block of prompt positions: SHA-256 of the previous block's key and this block's token ids, the
/// first block chained to the cache scope. Equal keys mean the same scope and the same tokens from the start of the
/// prompt, so a block's keys and values can be reused only where everything before it is the same too. SHA-256 rather
/// than a fast hash: in a shared scope a tenant could otherwise craft a prompt whose blocks collide with another's and
/// poison what that other tenant is served (vLLM moved its prefix hashes to SHA-256 for the same reason).
/// </summary>
public readonly record struct PrefixBlockHash(ulong A, ulong B, ulong C, ulong D)
{
    /// <summary>A 64-bit summary of the key, as nodes advertise it to their dispatcher.</summary>
    public ulong Summary => A;
}

/// <summary>Computes the chained block keys of a prompt (<see cref="PrefixBlockHash"/>).</summary>
public static class PrefixHashes
{
    private static readonly byte[] Domain = "tokengrid-prefix-v1\0"u8.ToArray();

    /// <summary>
    /// The keys of every full block of <paramref name="tokens"/> (<c>tokens.Count / blockTokens</c> of them), in order, in
    /// cache scope <paramref name="scope"/>.
    /// </summary>
    public static PrefixBlockHash[] Compute(string scope, IReadOnlyList<int> tokens, int blockTokens) =>
        Compute(scope, tokens, blockTokens, []);

    /// <summary>
    /// <see cref="Compute(string, IReadOnlyList{int}, int)"/> for <paramref name="tokens"/> whose first
    /// <paramref name="known"/>.Length blocks' keys are known already (a prompt's, for the prompt and its output): only
    /// the blocks after them are hashed.
    /// </summary>
    public static PrefixBlockHash[] Compute(string scope, IReadOnlyList<int> tokens, int blockTokens, ReadOnlySpan<PrefixBlockHash> known)
    {
        ArgumentNullException.ThrowIfNull(scope);
        ArgumentNullException.ThrowIfNull(tokens);
        ArgumentOutOfRangeException.ThrowIfLessThan(blockTokens, 1);
        var blocks = tokens.Count / blockTokens;
        ArgumentOutOfRangeException.ThrowIfGreaterThan(known.Length, blocks, nameof(known));
        var hashes = new PrefixBlockHash[blocks];
        known.CopyTo(hashes);
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        if (known.IsEmpty)
        {
            var seed = new byte[Domain.Length + Encoding.UTF8.GetByteCount(scope)];
            Domain.CopyTo(seed, 0);
            Encoding.UTF8.GetBytes(scope, seed.AsSpan(Domain.Length));
            SHA256.HashData(seed, digest);
        }
        else
        {
            var last = known[^1];
            BinaryPrimitives.WriteUInt64LittleEndian(digest, last.A);
            BinaryPrimitives.WriteUInt64LittleEndian(digest[8..], last.B);
            BinaryPrimitives.WriteUInt64LittleEndian(digest[16..], last.C);
            BinaryPrimitives.WriteUInt64LittleEndian(digest[24..], last.D);
        }

        var input = new byte[SHA256.HashSizeInBytes + (4 * blockTokens)];
        for (var b = known.Length; b < blocks; b++)
        {
            digest.CopyTo(input);
            for (var i = 0; i < blockTokens; i++)
            {
                BinaryPrimitives.WriteInt32LittleEndian(input.AsSpan(SHA256.HashSizeInBytes + (4 * i)), tokens[(b * blockTokens) + i]);
            }

            SHA256.HashData(input, digest);
            hashes[b] = new PrefixBlockHash(
                BinaryPrimitives.ReadUInt64LittleEndian(digest),
                BinaryPrimitives.ReadUInt64LittleEndian(digest[8..]),
                BinaryPrimitives.ReadUInt64LittleEndian(digest[16..]),
                BinaryPrimitives.ReadUInt64LittleEndian(digest[24..]));
        }

        return hashes;
    }

    /// <summary>The 64-bit summaries of <see cref="Compute(string, IReadOnlyList{int}, int)"/>, as a dispatcher matches them against nodes' digests.</summary>
    public static ulong[] Summaries(string scope, IReadOnlyList<int> tokens, int blockTokens) =>
        [.. Compute(scope, tokens, blockTokens).Select(h => h.Summary)];
}
