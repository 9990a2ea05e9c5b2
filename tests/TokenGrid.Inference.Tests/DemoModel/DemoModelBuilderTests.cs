using System.Text.Json.Nodes;
using TokenGrid.Inference.DemoModel;
using TokenGrid.Inference.Tests.Support;

namespace TokenGrid.Inference.Tests.DemoModel;

/// <summary>What the builder writes to disk; <see cref="DemoModelGraphTests"/> runs the models.</summary>
public sealed class DemoModelBuilderTests
{
    [Fact]
    public void Default_cache_key_names_the_variant()
    {
        Assert.Equal("gpt2-b1-L4-d128-h4-c512-v100277-s1234-kv-f32-lf32-i64-pos-ext", DemoModelSpec.Default.CacheKey);
    }

    [Fact]
    public void Cache_key_changes_with_every_field()
    {
        var d = DemoModelSpec.Default;
        DemoModelSpec[] changed =
        [
            d with { Layers = 2 }, d with { HiddenSize = 64 }, d with { Heads = 8 }, d with { ContextLength = 256 },
            d with { VocabSize = 1000 }, d with { Seed = 1 }, d with { KvLayout = KvCacheLayout.CombinedPast },
            d with { PositionIdsInput = false }, d with { IdType = TokenIdType.Int32 },
            d with { KvPrecision = TensorPrecision.Float16 }, d with { LogitsPrecision = TensorPrecision.Float16 },
            d with { ExternalData = false }, d with { KvHeads = 2 }, d with { UseCacheBranch = true },
        ];
        Assert.Equal(changed.Length + 1, changed.Select(s => s.CacheKey).Append(d.CacheKey).Distinct().Count());
    }

    [Fact]
    public void Rejects_a_hidden_size_that_heads_do_not_divide()
    {
        Assert.Throws<ArgumentException>(() => DemoModelBuilder.Write(NewDirectory(), DemoModels.Tiny with { HiddenSize = 30 }));
        Assert.Throws<ArgumentException>(() => DemoModelBuilder.EnsureBuilt(NewDirectory(), DemoModels.Tiny with { Layers = 0 }));
        Assert.Throws<ArgumentException>(() => DemoModelBuilder.Write(NewDirectory(), DemoModels.Tiny with { KvHeads = 3 }));
    }

    [Fact]
    public void Writes_large_weights_to_an_external_data_file_only_when_asked()
    {
        var external = NewDirectory();
        var inline = NewDirectory();
        DemoModelBuilder.Write(external, DemoModels.Tiny);
        DemoModelBuilder.Write(inline, DemoModels.Tiny with { ExternalData = false });

        Assert.Equal(["genai_config.json", "model.onnx", "model.onnx.data", "tiktoken.json"], FileNames(external));
        Assert.Equal(["genai_config.json", "model.onnx", "tiktoken.json"], FileNames(inline));
        var graphOnly = new FileInfo(Path.Combine(external, "model.onnx")).Length;
        var data = new FileInfo(Path.Combine(external, "model.onnx.data")).Length;
        Assert.True(graphOnly < 64 * 1024, $"model.onnx with external data is {graphOnly} bytes");
        Assert.True(new FileInfo(Path.Combine(inline, "model.onnx")).Length > data);
    }

    [Fact]
    public void Same_spec_writes_byte_identical_files()
    {
        var first = NewDirectory();
        var second = NewDirectory();
        DemoModelBuilder.Write(first, DemoModels.Tiny);
        DemoModelBuilder.Write(second, DemoModels.Tiny);

        foreach (var name in FileNames(first))
        {
            Assert.True(File.ReadAllBytes(Path.Combine(first, name)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(second, name))), name);
        }
    }

    [Fact]
    public void Ensure_built_builds_once_and_leaves_no_temporary_directory()
    {
        var root = NewDirectory();
        var spec = DemoModels.Tiny;
        var directory = DemoModelBuilder.EnsureBuilt(root, spec);
        var written = File.GetLastWriteTimeUtc(Path.Combine(directory, "model.onnx.data"));

        Assert.Equal(Path.Combine(Path.GetFullPath(root), spec.CacheKey), directory);
        Assert.Equal(directory, DemoModelBuilder.EnsureBuilt(root, spec));
        Assert.Equal(written, File.GetLastWriteTimeUtc(Path.Combine(directory, "model.onnx.data")));
        AssertOnlyModelIn(root, spec);
    }

    [Fact]
    public void Ensure_built_rebuilds_a_damaged_directory()
    {
        var root = NewDirectory();
        var directory = DemoModelBuilder.EnsureBuilt(root, DemoModels.Tiny);
        File.Delete(Path.Combine(directory, "model.onnx.data"));

        Assert.Equal(directory, DemoModelBuilder.EnsureBuilt(root, DemoModels.Tiny));
        Assert.True(File.Exists(Path.Combine(directory, "model.onnx.data")));
    }

    [Fact]
    public async Task Concurrent_ensure_built_calls_agree_on_one_complete_directory()
    {
        // A race: rounds of builders, each round in a cache of its own. Each builder counts the files of the directory it
        // was given at once; one that another builder took away (as damaged) under it would be short of them.
        var spec = DemoModels.Tiny with { Layers = 1 };
        for (var round = 0; round < 12; round++)
        {
            var root = NewDirectory();
            var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() =>
            {
                var directory = DemoModelBuilder.EnsureBuilt(root, spec);
                return (Directory: directory, Files: Directory.GetFiles(directory).Length);
            })));

            Assert.All(results, r => Assert.Equal(4, r.Files));
            Assert.Single(results.Select(r => r.Directory).Distinct());
            AssertOnlyModelIn(root, spec);
        }
    }

    [Fact]
    public void Default_cache_root_is_under_tokengrid_models_unless_configured()
    {
        var configured = Environment.GetEnvironmentVariable("TOKENGRID_MODEL_CACHE");
        var expected = string.IsNullOrWhiteSpace(configured) ? Path.Combine("tokengrid", "models") : Path.GetFullPath(configured);
        Assert.EndsWith(expected, DemoModelBuilder.DefaultCacheRoot, StringComparison.Ordinal);
    }

    [Fact]
    public void Genai_config_describes_the_per_layer_model()
    {
        var spec = DemoModels.Tiny with { VocabSize = 100276, Layers = 1, HiddenSize = 16, Heads = 2 };
        var directory = NewDirectory();
        DemoModelBuilder.Write(directory, spec);
        var model = JsonNode.Parse(File.ReadAllText(Path.Combine(directory, "genai_config.json")))!["model"]!;
        var decoder = model["decoder"]!;

        Assert.Equal("gpt2", (string?)model["type"]);
        Assert.Equal(100257, (int?)model["eos_token_id"]);
        Assert.Equal(100257, (int?)model["bos_token_id"]);
        Assert.Equal(100257, (int?)model["pad_token_id"]);
        Assert.Equal(spec.VocabSize, (int?)model["vocab_size"]);
        Assert.Equal(spec.ContextLength, (int?)model["context_length"]);
        Assert.Equal("model.onnx", (string?)decoder["filename"]);
        Assert.Equal(spec.HiddenSize, (int?)decoder["hidden_size"]);
        Assert.Equal(spec.Heads, (int?)decoder["num_attention_heads"]);
        Assert.Equal(spec.Heads, (int?)decoder["num_key_value_heads"]);
        Assert.Equal(spec.Layers, (int?)decoder["num_hidden_layers"]);
        Assert.Equal(spec.HiddenSize / spec.Heads, (int?)decoder["head_size"]);
        Assert.Equal(
            """{"input_ids":"input_ids","attention_mask":"attention_mask","position_ids":"position_ids","past_key_names":"past_key_values.%d.key","past_value_names":"past_key_values.%d.value"}""",
            decoder["inputs"]!.ToJsonString());
        Assert.Equal(
            """{"logits":"logits","present_key_names":"present.%d.key","present_value_names":"present.%d.value"}""",
            decoder["outputs"]!.ToJsonString());
        Assert.Equal(spec.ContextLength, (int?)JsonNode.Parse(File.ReadAllText(Path.Combine(directory, "genai_config.json")))!["search"]!["max_length"]);
        Assert.Equal("cl100k_base", (string?)JsonNode.Parse(File.ReadAllText(Path.Combine(directory, "tiktoken.json")))!["encoding"]);
    }

    [Fact]
    public void Genai_config_describes_the_combined_model_without_position_ids_and_clamps_special_ids()
    {
        var directory = NewDirectory();
        DemoModelBuilder.Write(directory, DemoModels.Tiny with { KvLayout = KvCacheLayout.CombinedPast, PositionIdsInput = false, Layers = 1 });
        var model = JsonNode.Parse(File.ReadAllText(Path.Combine(directory, "genai_config.json")))!["model"]!;

        Assert.Equal(999, (int?)model["eos_token_id"]);
        Assert.Equal(999, (int?)model["pad_token_id"]);
        Assert.Equal("""{"input_ids":"input_ids","attention_mask":"attention_mask","past_names":"past_%d"}""", model["decoder"]!["inputs"]!.ToJsonString());
        Assert.Equal("""{"logits":"logits","present_names":"present_%d"}""", model["decoder"]!["outputs"]!.ToJsonString());
    }

    private static string NewDirectory() => Path.Combine(DemoModels.CacheRoot, "builder-tests", Guid.NewGuid().ToString("N"));

    private static string[] FileNames(string directory) =>
        [.. Directory.GetFiles(directory).Select(f => Path.GetFileName(f)!).Order(StringComparer.Ordinal)];

    /// <summary>The cache root holds the model's directory and its builders' lock file, and no temporary left behind.</summary>
    private static void AssertOnlyModelIn(string root, DemoModelSpec spec)
    {
        Assert.Equal([spec.CacheKey], Directory.GetDirectories(root).Select(Path.GetFileName));

    }
}
