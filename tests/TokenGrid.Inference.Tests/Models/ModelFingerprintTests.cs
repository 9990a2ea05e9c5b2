using TokenGrid.Inference.Models;

namespace TokenGrid.Inference.Tests.Models;

/// <summary>
/// <see cref="ModelFingerprint"/>: the same files give the same fingerprint in any folder; new weights, another tokenizer
/// or template give another; the folder's other graphs, hidden files and notes do not count.
/// </summary>
public sealed class ModelFingerprintTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("tokengrid-fingerprint-").FullName;

    [Fact]
    public void The_same_files_in_another_folder_have_the_same_fingerprint_and_a_changed_weight_or_tokenizer_another()
    {
        var v1 = Folder("v1");
        var copy = Folder("copy");
        var fingerprint = Of(v1);

        Assert.Matches("^fp_[0-9a-f]{16}$", fingerprint);
        Assert.Equal(fingerprint, Of(copy));

        File.WriteAllBytes(Path.Combine(copy, "model.onnx.data"), [1, 2, 3, 5]);
        var weights = Of(copy);
        Assert.NotEqual(fingerprint, weights);

        File.WriteAllText(Path.Combine(copy, "tiktoken.json"), """{"encoding": "o200k_base"}""");
        Assert.NotEqual(weights, Of(copy));

        File.WriteAllText(Path.Combine(v1, "chat_template.jinja"), "{{ messages }}");
        Assert.NotEqual(fingerprint, Of(v1));
    }

    [Fact]
    public void Other_graphs_their_data_hidden_files_and_notes_do_not_count()
    {
        var folder = Folder("v1");
        var fingerprint = Of(folder);

        File.WriteAllBytes(Path.Combine(folder, "decoder_model.onnx"), [9, 9]);
        File.WriteAllBytes(Path.Combine(folder, "decoder_model.onnx.data"), [8, 8]);
        File.WriteAllText(Path.Combine(folder, "README.md"), "# notes");
        File.WriteAllText(Path.Combine(folder, ".gitattributes"), "*.onnx filter=lfs");

        Assert.Equal(fingerprint, Of(folder));
    }

    [Fact]
    public void A_transformers_js_folder_counts_its_chosen_graph_and_data_in_onnx_and_not_the_other_variants()
    {
        var folder = Path.Combine(_root, "community");
        Directory.CreateDirectory(Path.Combine(folder, "onnx"));
        File.WriteAllText(Path.Combine(folder, "config.json"), """{"model_type": "llama"}""");
        File.WriteAllText(Path.Combine(folder, "tokenizer.json"), "{}");
        File.WriteAllBytes(Path.Combine(folder, "onnx", "model.onnx"), [1]);
        File.WriteAllBytes(Path.Combine(folder, "onnx", "model.onnx_data"), [2]);
        File.WriteAllBytes(Path.Combine(folder, "onnx", "model_q4.onnx"), [3]);
        var model = Path.Combine(folder, "onnx", "model.onnx");
        var fingerprint = ModelFingerprint.Of(folder, model);

        File.WriteAllBytes(Path.Combine(folder, "onnx", "model_q4.onnx"), [4]);
        Assert.Equal(fingerprint, ModelFingerprint.Of(folder, model));

        File.WriteAllBytes(Path.Combine(folder, "onnx", "model.onnx_data"), [5]);
        Assert.NotEqual(fingerprint, ModelFingerprint.Of(folder, model));
    }

    [Fact]
    public void Large_weights_are_read_by_pieces_and_a_change_in_any_piece_gives_another_fingerprint()
    {
        var folder = Folder("large");
        var weights = Path.Combine(folder, "model.onnx.data");
        var length = ModelFingerprint.WholeFileBytes + 12_345;
        using (var stream = File.OpenWrite(weights))
        {
            stream.SetLength(length);
        }

        var fingerprint = Of(folder);
        Assert.Equal(fingerprint, Of(Copy(folder, "large-copy")));

        // The first byte, one inside a piece in the middle, and the last byte each belong to a piece.
        var middle = (length - ModelFingerprint.SampleBytes) / (ModelFingerprint.Samples - 1) * 100 + 7;
        foreach (var position in new[] { 0, middle, length - 1 })
        {
            var changed = Copy(folder, $"large-{position}");
            using (var stream = new FileStream(Path.Combine(changed, "model.onnx.data"), FileMode.Open, FileAccess.Write))
            {
                stream.Position = position;
                stream.WriteByte(0xAB);
            }

            Assert.True(fingerprint != Of(changed), $"a byte changed at {position} of {length} was not seen");
        }

        // A file one byte longer is another file.
        var longer = Copy(folder, "large-longer");
        using (var stream = File.OpenWrite(Path.Combine(longer, "model.onnx.data")))
        {
            stream.SetLength(length + 1);
        }

        Assert.NotEqual(fingerprint, Of(longer));
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static string Of(string folder) => ModelFingerprint.Of(folder, Path.Combine(folder, "model.onnx"));

    private string Copy(string folder, string name)
    {
        var copy = Path.Combine(_root, name);
        Directory.CreateDirectory(copy);
        foreach (var file in Directory.EnumerateFiles(folder))
        {
            File.Copy(file, Path.Combine(copy, Path.GetFileName(file)));
        }

        return copy;
    }

    /// <summary>A folder laid out as the demo model's: graph, external weights, tokenizer and configuration.</summary>
    private string Folder(string name)
    {
        var folder = Path.Combine(_root, name);
        Directory.CreateDirectory(folder);
        File.WriteAllBytes(Path.Combine(folder, "model.onnx"), [10, 20, 30]);
        File.WriteAllBytes(Path.Combine(folder, "model.onnx.data"), [1, 2, 3, 4]);
        File.WriteAllText(Path.Combine(folder, "tiktoken.json"), """{"encoding": "cl100k_base"}""");
        File.WriteAllText(Path.Combine(folder, "genai_config.json"), """{"model": {"context_length": 512}}""");
        return folder;
    }
}
