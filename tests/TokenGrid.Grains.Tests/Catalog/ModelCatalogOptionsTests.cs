using TokenGrid.Grains.Catalog;

namespace TokenGrid.Grains.Tests.Catalog;

/// <summary>A model's <c>ModelFile</c> setting names an .onnx file inside its folder, or the options are refused naming it.</summary>
public sealed class ModelCatalogOptionsTests
{
    [Theory]
    [InlineData("onnx/model_q4.onnx")]
    [InlineData("model_fp16.onnx")]
    [InlineData("onnx\\model.ONNX")]
    public void A_relative_onnx_file_is_taken(string file) =>
        Assert.Null(Options(new ModelEntry { Name = "qwen", Directory = "/models/qwen", ModelFile = file }).Validate());

    [Theory]
    [InlineData("/models/qwen/onnx/model.onnx", "must be relative to the model's Directory")]
    [InlineData("../other/model.onnx", "must stay inside the model's Directory (no '..')")]
    [InlineData("onnx/../../model.onnx", "must stay inside the model's Directory (no '..')")]
    [InlineData("onnx/model.onnx_data", "must name an .onnx file")]
    [InlineData(" ", "is empty")]
    public void A_model_file_outside_the_folder_or_not_a_graph_is_refused_naming_the_model_and_the_file(string file, string why)
    {
        var problem = Options(new ModelEntry { Name = "qwen", Directory = "/models/qwen", ModelFile = file }).Validate();
        Assert.Equal($"model 'qwen': ModelFile '{file}' {why}.", problem);
    }

    [Fact]
    public void A_model_file_for_the_demo_model_is_refused()
    {
        var problem = Options(new ModelEntry { Name = "demo", ModelFile = "model.onnx" }).Validate();
        Assert.Equal("model 'demo': ModelFile 'model.onnx' applies to a model directory, not the built-in demo model.", problem);
    }

    private static ModelCatalogOptions Options(ModelEntry entry) => new() { Entries = [entry] };
}
