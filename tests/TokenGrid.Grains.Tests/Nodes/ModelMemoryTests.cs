using TokenGrid.Grains.Catalog;
using TokenGrid.Inference.DemoModel;
using TokenGrid.Inference.Models;

namespace TokenGrid.Grains.Tests.Nodes;

public sealed class ModelMemoryTests
{
    [Fact]
    public void The_kv_cache_of_a_sequence_is_layers_times_key_and_value_times_heads_head_size_context_and_element()
    {
        var config = new DecoderModelConfig
        {
            Name = "m", Directory = "/m", ModelPath = "/m/model.onnx", Io = null!,
            Layers = 24, KvHeads = 8, HeadSize = 128, ContextLength = 4096,
        };

        Assert.Equal(24L * 2 * 8 * 128 * 4096 * 2, ModelMemory.KvBytesPerSequence(config, elementBytes: 2));
        Assert.Equal(1000 + (ModelMemory.KvCopies * 10L * 32), ModelMemory.Estimate(1000, 10, 32));
        Assert.Equal(1000 + (ModelMemory.KvCopies * 10L * 32) + 777, ModelMemory.Estimate(1000, 10, 32, prefixCacheBytes: 777));
    }

    [Fact]
    public void The_prefix_cache_budget_is_its_tokens_in_whole_blocks_times_layers_key_and_value_heads_head_size_and_element()
    {
        var config = new DecoderModelConfig
        {
            Name = "m", Directory = "/m", ModelPath = "/m/model.onnx", Io = null!,
            Layers = 24, KvHeads = 8, HeadSize = 128, ContextLength = 4096,
        };

        Assert.Equal(16_384L * 24 * 2 * 8 * 128 * 2, ModelMemory.PrefixCacheBytes(config, elementBytes: 2, cacheTokens: 16_384, blockTokens: 16));
        // The engine holds whole blocks only: 100 tokens in blocks of 16 are 6 blocks, 96 positions.
        Assert.Equal(96L * 24 * 2 * 8 * 128 * 4, ModelMemory.PrefixCacheBytes(config, elementBytes: 4, cacheTokens: 100, blockTokens: 16));
        // Off: no tokens, or fewer than one block.
        Assert.Equal(0, ModelMemory.PrefixCacheBytes(config, elementBytes: 2, cacheTokens: 0, blockTokens: 16));
        Assert.Equal(0, ModelMemory.PrefixCacheBytes(config, elementBytes: 2, cacheTokens: 15, blockTokens: 16));
    }

    [Fact]
    public void Weights_are_the_decoder_file_and_its_external_data_but_not_other_files()
    {
        var directory = Path.Combine(Path.GetTempPath(), $"tokengrid-memory-{Guid.NewGuid():N}");
        Directory.CreateDirectory(directory);
        try
        {
            File.WriteAllBytes(Path.Combine(directory, "model.onnx"), new byte[100]);
            File.WriteAllBytes(Path.Combine(directory, "model.onnx.data"), new byte[1000]);
            File.WriteAllBytes(Path.Combine(directory, "tokenizer.json"), new byte[50]);
            File.WriteAllBytes(Path.Combine(directory, "pytorch_model.bin"), new byte[7000]);

            Assert.Equal(1100, ModelMemory.WeightBytes(Path.Combine(directory, "model.onnx")));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void Weights_of_a_transformers_js_variant_leave_out_the_other_variants_data_beside_it()
    {
        var directory = Path.Combine(Path.GetTempPath(), $"tokengrid-memory-{Guid.NewGuid():N}");
        Directory.CreateDirectory(directory);
        try
        {
            // onnx/ as onnx-community ships it: each variant with its own external data.
            File.WriteAllBytes(Path.Combine(directory, "model.onnx"), new byte[100]);
            File.WriteAllBytes(Path.Combine(directory, "model.onnx_data"), new byte[1000]);
            File.WriteAllBytes(Path.Combine(directory, "model_fp16.onnx"), new byte[50]);
            File.WriteAllBytes(Path.Combine(directory, "model_fp16.onnx_data"), new byte[500]);
            File.WriteAllBytes(Path.Combine(directory, "model_q4.onnx"), new byte[30]);

            Assert.Equal(1100, ModelMemory.WeightBytes(Path.Combine(directory, "model.onnx")));
            Assert.Equal(550, ModelMemory.WeightBytes(Path.Combine(directory, "model_fp16.onnx")));
            Assert.Equal(30, ModelMemory.WeightBytes(Path.Combine(directory, "model_q4.onnx")));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void A_catalog_model_estimates_from_the_built_demo_model_without_keeping_it_open()
    {
        var root = Path.Combine(Path.GetTempPath(), $"tokengrid-memory-{Guid.NewGuid():N}");
        try
        {
            var spec = new DemoModelSpec { Layers = 1, HiddenSize = 32, Heads = 2, ContextLength = 64, VocabSize = 300 };
            var directory = DemoModelBuilder.EnsureBuilt(root, spec);
            CatalogModel catalog;
            using (var model = DecoderModel.Load(directory, new ModelLoadOptions { ExecutionProvider = Inference.Runtime.ExecutionProviderPreference.Cpu }))
            {
                catalog = new CatalogModel("tiny", model);
            }

            var files = new FileInfo(Path.Combine(directory, "model.onnx")).Length + new FileInfo(Path.Combine(directory, "model.onnx.data")).Length;
            Assert.Equal(files, catalog.WeightBytes);
            Assert.Equal(1L * 2 * 2 * 16 * 64 * 4, catalog.KvBytesPerSequence);
            Assert.Equal(files + (2 * catalog.KvBytesPerSequence * 8), catalog.EstimatedBytes(8, prefixCacheTokens: 0, prefixBlockTokens: 16));
            // A prefix cache of 256 tokens: per position, 1 layer × key and value × 2 heads × 16 × 4 bytes.
            Assert.Equal(256L * 1 * 2 * 2 * 16 * 4, catalog.PrefixCacheBytes(256, 16));
            Assert.Equal(files + (2 * catalog.KvBytesPerSequence * 8) + catalog.PrefixCacheBytes(256, 16), catalog.EstimatedBytes(8, 256, 16));
            Assert.Equal(64, catalog.ContextLength);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
