using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace TokenGrid.Inference.Models;

/// <summary>
/// The identity of a model as a folder serves it: a SHA-256 over the files that decide what it computes and how text
/// maps to its ids: the decoder file and its external data, and every other file at the folder's top level
/// (configuration, tokenizer, chat template, custom operator libraries). Two folders with the same files have the same
/// fingerprint wherever they are; a new version of the weights, a different tokenizer or a changed chat template gives
/// another. Left out: the folder's other ONNX graphs and their data (variants the model does not run), subfolders other
/// than the decoder's, hidden files and <c>*.md</c> files.
/// </summary>
/// <remarks>
/// A file up to <see cref="WholeFileBytes"/> is read whole. A larger one (the weights) is read as <see cref="Samples"/>
/// evenly spaced pieces of <see cref="SampleBytes"/>, its first and last among them: 16 MB whatever its size, so a silo
/// with a 140 GB model does not read it all at start and at each load. A new version of the weights (a fine-tune, a
/// quantization) changes nearly every tensor, so the pieces see it; an edit of a few bytes between two pieces of a large
/// file is not seen. It tells versions apart; it is not a checksum of the download. Written <c>fp_</c> and 16
/// hexadecimal digits, the shape of OpenAI's <c>system_fingerprint</c>.
/// </remarks>
public static class ModelFingerprint
{
    /// <summary>Files up to this size are read whole.</summary>
    public const long WholeFileBytes = 64L << 20;

    /// <summary>Pieces read from a larger file.</summary>
    public const int Samples = 256;

    /// <summary>Bytes in each piece.</summary>
    public const int SampleBytes = 64 << 10;

    /// <summary>The fingerprint of the model in <paramref name="directory"/> whose decoder file is <paramref name="modelPath"/>.</summary>
    /// <exception cref="IOException">A file could not be read.</exception>
    public static string Of(string directory, string modelPath)
    {
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentNullException.ThrowIfNull(modelPath);
        var root = Path.GetFullPath(directory);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> length = stackalloc byte[8];
        foreach (var file in Files(root, Path.GetFullPath(modelPath)))
        {
            // Each file's place and length go in before its bytes, so moving bytes from one file to the next changes it.
            hash.AppendData(Encoding.UTF8.GetBytes(Path.GetRelativePath(root, file.FullName).Replace('\\', '/') + "\0"));
            BinaryPrimitives.WriteInt64LittleEndian(length, file.Length);
            hash.AppendData(length);
            using var stream = new FileStream(file.FullName, FileMode.Open, FileAccess.Read, FileShare.Read, 0,
                file.Length > WholeFileBytes ? FileOptions.RandomAccess : FileOptions.SequentialScan);
            if (file.Length > WholeFileBytes)
            {
                AppendSamples(hash, stream, file.Length);
            }
            else
            {
                AppendWhole(hash, stream);
            }
        }

        return "fp_" + Convert.ToHexStringLower(hash.GetHashAndReset())[..16];
    }

    private static void AppendWhole(IncrementalHash hash, FileStream stream)
    {
        var buffer = new byte[1 << 20];
        int read;
        while ((read = stream.Read(buffer)) > 0)
        {
            hash.AppendData(buffer.AsSpan(0, read));
        }
    }

    private static void AppendSamples(IncrementalHash hash, FileStream stream, long length)
    {
        var buffer = new byte[SampleBytes];
        for (var i = 0; i < Samples; i++)
        {
            stream.Position = (length - SampleBytes) / (Samples - 1) * i;
            if (i == Samples - 1)
            {
                stream.Position = length - SampleBytes;
            }

            stream.ReadExactly(buffer);
            hash.AppendData(buffer);
        }
    }

    /// <summary>The files <see cref="Of"/> reads, in ordinal order of their path.</summary>
    internal static IEnumerable<FileInfo> Files(string root, string modelPath)
    {
        var decoder = new FileInfo(modelPath);
        var files = new Dictionary<string, FileInfo>(StringComparer.Ordinal);
        foreach (var file in new DirectoryInfo(root).EnumerateFiles())
        {
            if (!file.Name.StartsWith('.') && !file.Name.EndsWith(".md", StringComparison.OrdinalIgnoreCase) && !IsGraphOrData(file.Name))
            {
                files[file.FullName] = file;
            }
        }

        if (decoder is { Exists: true, Directory: { } folder })
        {
            files[decoder.FullName] = decoder;
            foreach (var file in folder.EnumerateFiles())
            {
                // The decoder's external data, as DecoderModel.WeightBytesOf counts it.
                if (file.Name != decoder.Name && BelongsTo(file, decoder))
                {
                    files[file.FullName] = file;
                }
            }
        }

        return files.Values.OrderBy(f => f.FullName, StringComparer.Ordinal);
    }

    private static bool IsGraphOrData(string name) =>
        name.EndsWith(".onnx", StringComparison.Ordinal) || name.Contains(".onnx.", StringComparison.Ordinal)
        || name.Contains(".onnx_", StringComparison.Ordinal);

    private static bool BelongsTo(FileInfo file, FileInfo decoder) =>
        file.Name.StartsWith(decoder.Name, StringComparison.Ordinal)
        || ((file.Name.EndsWith(".onnx.data", StringComparison.Ordinal) || file.Name.EndsWith(".onnx_data", StringComparison.Ordinal))
            && !File.Exists(Path.Combine(file.DirectoryName!, file.Name[..^".data".Length])));
}
