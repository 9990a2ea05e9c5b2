using System.Net;
using Orleans.Hosting.Kubernetes;
using TokenGrid.Silo.Options;

namespace TokenGrid.Silo.Hosting;

/// <summary>Whether the silo runs as a Kubernetes pod (section <see cref="SectionName"/>).</summary>
/// <example>
/// <code>
/// "TokenGrid": { "Kubernetes": { "Enabled": true } }
/// </code>
/// </example>
public sealed class KubernetesOptions
{
    /// <summary>Configuration section.</summary>
    public const string SectionName = "TokenGrid:Kubernetes";

    /// <summary>
    /// Use Orleans' Kubernetes hosting (<c>UseKubernetesHosting</c>): the silo is named after its pod, advertises the pod
    /// IP, and watches its cluster's pods so that a silo whose pod is gone is declared dead at once. Needs
    /// <c>POD_NAMESPACE</c>, <c>POD_NAME</c>, <c>POD_IP</c> and the pod's service account; membership stays in PostgreSQL.
    /// Default: false (the kubernetes profile sets it).
    /// </summary>
    public bool Enabled { get; set; }
}

/// <summary>
/// A configuration mistake found while the host is being built: the operator's to fix, printed as one line
/// ("TokenGrid cannot start: …") without a stack trace, and the process exits with code 2.
/// </summary>
public sealed class StartupConfigurationException(string message) : Exception(message)
{
    /// <summary>The executable's exit code for a configuration mistake.</summary>
    public const int ExitCode = 2;
}

/// <summary>Switches on Orleans' Kubernetes hosting, after checking that this process really runs in a pod.</summary>
internal static class KubernetesHosting
{
    /// <summary>The exit code when the Kubernetes hosting is on outside a pod (the same as any configuration mistake).</summary>
    public const int ExitCode = StartupConfigurationException.ExitCode;

    /// <summary>Where Kubernetes mounts the pod's service account, which the in-cluster client configuration reads.</summary>
    public const string ServiceAccountPath = "/var/run/secrets/kubernetes.io/serviceaccount";

    /// <summary>
    /// With <see cref="KubernetesOptions.Enabled"/>, checks the pod's environment and adds Orleans' Kubernetes hosting.
    /// Outside a pod it throws <see cref="StartupConfigurationException"/> naming what is missing, which the executable
    /// prints as one line before exiting with <see cref="ExitCode"/>: Orleans would otherwise fail much later, with a
    /// stack trace about an in-cluster configuration.
    /// </summary>
    public static ISiloBuilder AddTokenGridKubernetesHosting(this ISiloBuilder silo, ClusterHostingOptions cluster)
    {
        var options = silo.Configuration.GetSection(KubernetesOptions.SectionName).Get<KubernetesOptions>() ?? new KubernetesOptions();
        if (!options.Enabled)
        {
            return silo;
        }

        var problems = FindProblems(Environment.GetEnvironmentVariable, File.Exists, cluster);
        if (problems.Count > 0)
        {
            throw new StartupConfigurationException(Describe(problems));
        }

        return silo.UseKubernetesHosting();
    }

    /// <summary>The one-line explanation printed when the Kubernetes hosting cannot start.</summary>
    public static string Describe(IReadOnlyList<string> problems) =>
        "the Kubernetes hosting (TokenGrid:Kubernetes:Enabled, set by the kubernetes profile) " +
        $"needs to run in a Kubernetes pod, and here {string.Join("; ", problems)}. Outside Kubernetes use another profile " +
        "(--profile postgres) or set TokenGrid__Kubernetes__Enabled=false.";

    /// <summary>What this process lacks to be a silo in a pod; empty when nothing is missing.</summary>
    public static IReadOnlyList<string> FindProblems(Func<string, string?> environment, Func<string, bool> fileExists, ClusterHostingOptions cluster)
    {
        var problems = new List<string>();
        string[] podVariables =
        [
            KubernetesHostingOptions.PodNamespaceEnvironmentVariable,
            KubernetesHostingOptions.PodNameEnvironmentVariable,
            KubernetesHostingOptions.PodIPEnvironmentVariable,
        ];
        var missingPod = podVariables.Where(v => string.IsNullOrWhiteSpace(environment(v))).ToList();
        if (missingPod.Count > 0)
        {
            problems.Add($"{string.Join(", ", missingPod)} {(missingPod.Count == 1 ? "is" : "are")} not set " +
                "(the pod spec sets them from the downward API: metadata.namespace, metadata.name, status.podIP)");
        }

        var podIp = environment(KubernetesHostingOptions.PodIPEnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(podIp) && !IPAddress.TryParse(podIp, out _))
        {
            problems.Add($"{KubernetesHostingOptions.PodIPEnvironmentVariable} '{podIp}' is not an IP address");
        }

        string[] serviceVariables = ["KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"];
        var missingService = serviceVariables.Where(v => string.IsNullOrWhiteSpace(environment(v))).ToList();
        if (missingService.Count > 0)
        {
            problems.Add($"{string.Join(", ", missingService)} {(missingService.Count == 1 ? "is" : "are")} not set " +
                "(Kubernetes sets them in every pod: this is not a pod)");
        }

        var missingFiles = new[] { "token", "ca.crt" }
            .Select(name => Path.Combine(ServiceAccountPath, name))
            .Where(path => !fileExists(path))
            .ToList();
        if (missingFiles.Count > 0)
        {
            problems.Add($"the service account's {string.Join(" and ", missingFiles)} {(missingFiles.Count == 1 ? "is" : "are")} missing " +
                "(the pod needs a service account with automountServiceAccountToken)");
        }

        // Orleans' agent matches cluster members to pods by silo name, so the two must be the same.
        var podName = environment(KubernetesHostingOptions.PodNameEnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(podName) && !string.Equals(cluster.EffectiveSiloName, podName, StringComparison.Ordinal))
        {
            problems.Add($"the silo name '{cluster.EffectiveSiloName}' (TokenGrid:Cluster:SiloName) differs from the pod name '{podName}'");
        }

        return problems;
    }
}
