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
            Assert.Equal(files + (2 * catalog.KvBytesPerSequence * 8), catalog.EstimatedBytes(8));
            Assert.Equal(64, catalog.ContextLength);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
