using System.Globalization;

namespace TokenGrid.Grains.Nodes;

/// <summary>Device names: <c>cpuN</c> and <c>gpuN</c>.</summary>
internal static class DeviceName
{
    public static bool TryParse(string? device, out bool isGpu, out int ordinal)
    {
        isGpu = false;
        ordinal = 0;
        if (device is null || device.Length < 4)
        {
            return false;
        }

        var kind = device[..3];
        isGpu = kind == "gpu";
        return (isGpu || kind == "cpu")
            && device[3..].All(char.IsAsciiDigit)
            && int.TryParse(device.AsSpan(3), NumberStyles.None, CultureInfo.InvariantCulture, out ordinal);
    }
}

/// <summary>Node ids: <c>{silo}/{device}</c>.</summary>
public static class NodeId
{
    /// <summary>The id of <paramref name="device"/> on <paramref name="silo"/>.</summary>
    public static string Of(string silo, string device) => $"{silo}/{device}";

    /// <summary>Splits a node id at its last <c>/</c> (silo names may contain one, device names never do).</summary>
    public static bool TryParse(string nodeId, out string silo, out string device)
    {
        var slash = nodeId.LastIndexOf('/');
        silo = slash > 0 ? nodeId[..slash] : "";
        device = slash > 0 ? nodeId[(slash + 1)..] : "";
        return slash > 0 && device.Length > 0;
    }
}
