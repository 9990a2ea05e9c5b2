using System.Net.Sockets;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Connections;
using TokenGrid.Silo.Options;

namespace TokenGrid.Silo.Hosting;

/// <summary>
/// A start that failed because another process holds a port this silo was told to listen on, said in one line naming
/// the setting: Kestrel's and Orleans' own exceptions name no setting (Orleans' not even the port) and come with a
/// stack trace.
/// </summary>
internal static partial class ListenFailure
{
    /// <summary>The line for <paramref name="error"/> when it is a port in use, or null.</summary>
    public static string? Describe(Exception error, IConfiguration? configuration)
    {
        var chain = Chain(error).ToList();
        if (!chain.Any(e => e is AddressInUseException || e is SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse }))
        {
            return null;
        }

        if (chain.OfType<IOException>().Select(e => HttpBind().Match(e.Message)).FirstOrDefault(m => m.Success) is { } http)
        {
            return $"the HTTP address {http.Groups["address"].Value} (Urls: ASPNETCORE_URLS, --urls or the profile's Urls) is in use by another process; stop it or choose another port.";
        }

        var cluster = configuration?.GetSection(ClusterHostingOptions.SectionName).Get<ClusterHostingOptions>() ?? new ClusterHostingOptions();
        var gateway = cluster.GatewayPort == 0 ? "" : $" or the gateway port {cluster.GatewayPort} ({ClusterHostingOptions.SectionName}:GatewayPort)";
        return $"the silo port {cluster.SiloPort} ({ClusterHostingOptions.SectionName}:SiloPort){gateway} is in use by another process, "
            + "another silo on this machine perhaps: give each silo ports of its own.";
    }

    private static IEnumerable<Exception> Chain(Exception? error)
    {
        for (; error is not null; error = error.InnerException)
        {
            yield return error;
            if (error is AggregateException aggregate)
            {
                foreach (var inner in aggregate.InnerExceptions.SelectMany(Chain))
                {
                    yield return inner;
                }
            }
        }
    }

    [GeneratedRegex("^Failed to bind to address (?<address>.+?): address already in use")]
    private static partial Regex HttpBind();
}
