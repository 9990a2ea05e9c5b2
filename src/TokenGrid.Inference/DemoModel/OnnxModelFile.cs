using System.Globalization;
using Google.Protobuf;
using TokenGrid.Inference.DemoModel.Onnx;

namespace TokenGrid.Inference.DemoModel;

/// <summary>Writes a <see cref="ModelProto"/> to disk, optionally with its large initializers in an external data file.</summary>
internal static class OnnxModelFile
{
    /// <summary>Initializers with more raw bytes than this go to the external data file.</summary>
    public const int ExternalThreshold = 1024;

    /// <summary>Each external tensor starts at a multiple of this, so the file can be memory-mapped tensor by tensor.</summary>
    public const int Alignment = 64;

    /// <summary>
    /// Writes <paramref name="modelPath"/>; with a <paramref name="dataFileName"/>, moves the large initializers'
    /// raw data into that file beside it (the model is changed in place).
    /// </summary>
    public static void Write(ModelProto model, string modelPath, string? dataFileName)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(modelPath))!;
        if (dataFileName is not null)
        {
            using var data = new FileStream(Path.Combine(directory, dataFileName), FileMode.Create, FileAccess.Write);
            foreach (var tensor in model.Graph.Initializer.Where(t => t.RawData.Length > ExternalThreshold))
            {
                var offset = (data.Position + Alignment - 1) / Alignment * Alignment;
                data.Write(new byte[offset - data.Position]);
                tensor.RawData.WriteTo(data);
                tensor.ExternalData.Add(Entry("location", dataFileName));
                tensor.ExternalData.Add(Entry("offset", offset));
                tensor.ExternalData.Add(Entry("length", tensor.RawData.Length));
                tensor.DataLocation = TensorProto.Types.DataLocation.External;
                tensor.RawData = ByteString.Empty;
            }
        }

        using var file = new FileStream(modelPath, FileMode.Create, FileAccess.Write);
        model.WriteTo(file);
    }

    private static StringStringEntryProto Entry(string key, string value) => new() { Key = key, Value = value };

    private static StringStringEntryProto Entry(string key, long value) => Entry(key, value.ToString(CultureInfo.InvariantCulture));
}
