using Microsoft.AspNetCore.Server.Kestrel.Core;
using TokenGrid.Silo.Options;

namespace TokenGrid.Silo.Hosting;

/// <summary>
/// Kestrel's connection limits from the <c>Kestrel:Limits</c> section (<c>Kestrel__Limits__MaxConcurrentConnections</c>),
/// which ASP.NET Core itself does not bind: it reads only endpoints and certificates from <c>Kestrel</c>. The body limit
/// stays TokenGrid's own setting, which the API enforces on every body, so a second one cannot disagree with it.
/// </summary>
internal static class KestrelLimits
{
    /// <summary>The section the limits are read from.</summary>
    public const string Section = "Kestrel:Limits";

    /// <summary>The limits that cannot be set here, each with what to set instead.</summary>
    private static readonly Dictionary<string, string> s_refused = new(StringComparer.OrdinalIgnoreCase)
    {
        ["MaxRequestBodySize"] = $"set {ApiOptions.SectionName}:{nameof(ApiOptions.MaxRequestBodyBytes)} instead",
        ["MinRequestBodyDataRate"] = "a data rate has no configuration form; it stays Kestrel's default (240 bytes/s after 5 s)",
        ["MinResponseDataRate"] = $"a data rate has no configuration form; a stalled reader is ended by {ApiOptions.SectionName}:{nameof(ApiOptions.StreamWriteTimeout)}",
    };

    /// <summary>Binds the section onto <paramref name="limits"/>, then sets the body limit from <paramref name="api"/>.</summary>
    /// <exception cref="StartupConfigurationException">The section names a limit that cannot be set here or does not exist, or holds a value that is not one.</exception>
    public static void Apply(KestrelServerLimits limits, IConfiguration configuration, ApiOptions api)
    {
        var section = configuration.GetSection(Section);
        foreach (var child in section.GetChildren())
        {
            if (s_refused.TryGetValue(child.Key, out var instead))
            {
                throw new StartupConfigurationException($"{Section}:{child.Key} cannot be set: {instead}.");
            }
        }

        // Unknown names fail too: a misspelt limit would otherwise leave the default in place without a word.
        try
        {
            section.Bind(limits, binder => binder.ErrorOnUnknownConfiguration = true);
        }
        catch (InvalidOperationException e)
        {
            throw new StartupConfigurationException($"{Section}: {e.Message}");
        }
        limits.MaxRequestBodySize = api.MaxRequestBodyBytes;
    }
}
