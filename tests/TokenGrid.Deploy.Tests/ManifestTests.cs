using System.Text.Json.Nodes;
using Orleans.Hosting.Kubernetes;
using TokenGrid.Deploy.Tests.Support;

namespace TokenGrid.Deploy.Tests;

/// <summary>The properties the silos need, asserted on what every kustomization renders.</summary>
public sealed class ManifestTests
{
    private static readonly string[] SecretSettings = ["TokenGrid__Database__ConnectionString", "TokenGrid__Admin__ApiKey"];

    public static TheoryData<string> All => [.. K8sTools.Kustomizations()];

    /// <summary>silo-config/kubernetes.json, the profile the ConfigMap is generated from.</summary>
    private static JsonObject Profile => JsonNode.Parse(Repository.Read("silo-config/kubernetes.json"))!.AsObject();

    [Theory]
    [MemberData(nameof(All))]
    public async Task Probes_ask_three_questions_on_three_endpoints_of_the_http_port(string kustomization)
    {
        var silo = (await K8sTools.RenderAsync(kustomization)).Silo;

        Assert.Equal("/health/startup", (string?)silo["startupProbe"]?["httpGet"]?["path"]);
        Assert.Equal("/health/ready", (string?)silo["readinessProbe"]?["httpGet"]?["path"]);
        Assert.Equal("/health/live", (string?)silo["livenessProbe"]?["httpGet"]?["path"]);
        foreach (var probe in new[] { "startupProbe", "readinessProbe", "livenessProbe" })
        {
            Assert.Equal("http", (string?)silo[probe]!["httpGet"]!["port"]);
        }

        // The named port is the one the profile's Urls listen on.
        var http = silo["ports"]!.AsArray().OfType<JsonObject>().Single(p => (string?)p["name"] == "http");
        Assert.EndsWith($":{(int)http["containerPort"]!}", (string?)Profile["Urls"], StringComparison.Ordinal);
        // Starting may build the demo model and wait for PostgreSQL: the startup probe allows minutes, not seconds.
        Assert.True((int)silo["startupProbe"]!["periodSeconds"]! * (int)silo["startupProbe"]!["failureThreshold"]! >= 120);
    }

    [Theory]
    [MemberData(nameof(All))]
    public async Task Containers_request_cpu_and_none_has_a_cpu_limit(string kustomization)
    {
        var rendered = await K8sTools.RenderAsync(kustomization);

        var containers = rendered.AllContainers().ToList();
        Assert.NotEmpty(containers);
        foreach (var (workload, container) in containers)
        {
            Assert.True(container["resources"]?["limits"]?["cpu"] is null, $"{workload} {container["name"]} has a CPU limit");
            Assert.True(container["resources"]?["requests"]?["cpu"] is not null, $"{workload} {container["name"]} has no CPU request");
        }
    }

    [Theory]
    [MemberData(nameof(All))]
    public async Task The_role_grants_exactly_the_pod_verbs_orleans_kubernetes_hosting_calls(string kustomization)
    {
        var rendered = await K8sTools.RenderAsync(kustomization);

        // KubernetesClusterAgent: ReadNamespacedPod, PatchNamespacedPod, ListNamespacedPod, Watch, DeleteNamespacedPod.
        Assert.Empty(rendered.OfKind("ClusterRole"));
        Assert.Empty(rendered.OfKind("ClusterRoleBinding"));
        var role = Assert.Single(rendered.OfKind("Role"));
        var rule = Assert.Single(role["rules"]!.AsArray())!.AsObject();
        Assert.Equal([""], Strings(rule["apiGroups"]));
        Assert.Equal(["pods"], Strings(rule["resources"]));
        Assert.Equal(["delete", "get", "list", "patch", "watch"], Strings(rule["verbs"]).Order(StringComparer.Ordinal));
        Assert.Null(rule["resourceNames"]);

        var binding = Assert.Single(rendered.OfKind("RoleBinding"));
        Assert.Equal("Role", (string?)binding["roleRef"]!["kind"]);
        Assert.Equal(RenderedManifests.NameOf(role), (string?)binding["roleRef"]!["name"]);
        var subject = Assert.Single(binding["subjects"]!.AsArray())!.AsObject();
        Assert.Equal("ServiceAccount", (string?)subject["kind"]);
        Assert.Equal((string?)rendered.PodSpec["serviceAccountName"], (string?)subject["name"]);
        rendered.Single("ServiceAccount", (string)subject["name"]!);
        Assert.NotEqual(false, (bool?)rendered.PodSpec["automountServiceAccountToken"]);
    }

    [Theory]
    [MemberData(nameof(All))]
    public async Task Pod_labels_and_environment_match_the_orleans_options(string kustomization)
    {
        var rendered = await K8sTools.RenderAsync(kustomization);
        var cluster = Profile["TokenGrid"]!["Cluster"]!;

        var labels = rendered.Deployment["spec"]!["template"]!["metadata"]!["labels"]!;
        Assert.Equal((string?)cluster["ClusterId"], (string?)labels[KubernetesHostingOptions.ClusterIdLabel]);
        Assert.Equal((string?)cluster["ServiceId"], (string?)labels[KubernetesHostingOptions.ServiceIdLabel]);
        Assert.True((bool?)Profile["TokenGrid"]!["Kubernetes"]!["Enabled"]);
        Assert.Equal("AdoNet", (string?)cluster["Clustering"]);

        var silo = rendered.Silo;
        Assert.Equal("metadata.namespace", FieldRef(silo, KubernetesHostingOptions.PodNamespaceEnvironmentVariable));
        Assert.Equal("metadata.name", FieldRef(silo, KubernetesHostingOptions.PodNameEnvironmentVariable));
        Assert.Equal("status.podIP", FieldRef(silo, KubernetesHostingOptions.PodIPEnvironmentVariable));
        // Orleans' agent matches members to pods by silo name; the other silos dial the pod IP.
        Assert.Equal("$(POD_NAME)", (string?)RenderedManifests.Env(silo, "TokenGrid__Cluster__SiloName")?["value"]);
        Assert.Equal("$(POD_IP)", (string?)RenderedManifests.Env(silo, "TokenGrid__Cluster__AdvertisedAddress")?["value"]);
        // Orleans' own ids must not be overridden behind the profile's back.
        Assert.Null(RenderedManifests.Env(silo, KubernetesHostingOptions.ClusterIdEnvironmentVariable));
        Assert.Null(RenderedManifests.Env(silo, KubernetesHostingOptions.ServiceIdEnvironmentVariable));

        var ports = silo["ports"]!.AsArray().OfType<JsonObject>().ToDictionary(p => (string)p["name"]!, p => (int)p["containerPort"]!);
        Assert.Equal((int)cluster["SiloPort"]!, ports["silo"]);
        // No Orleans client gateway: it would take grain calls with no credential (silo-config/README.md, "Network").
        Assert.Null(cluster["GatewayPort"]);
        Assert.Equal(["http", "silo"], ports.Keys.Order());
    }

    [Theory]
    [MemberData(nameof(All))]
    public async Task The_config_map_is_the_kubernetes_profile_and_the_silo_reads_it(string kustomization)
    {
        var rendered = await K8sTools.RenderAsync(kustomization);

        var configMap = rendered.Single("ConfigMap", "tokengrid-config", prefix: true);
        var data = configMap["data"]!.AsObject();
        Assert.Equal(["kubernetes.json"], data.Select(d => d.Key));
        Assert.Equal(Repository.Read("silo-config/kubernetes.json"), (string?)data["kubernetes.json"]);

        var volume = rendered.PodSpec["volumes"]!.AsArray().OfType<JsonObject>().Single(v => (string?)v["name"] == "config");
        Assert.Equal(RenderedManifests.NameOf(configMap), (string?)volume["configMap"]!["name"]);
        var containers = new[] { rendered.Silo, RenderedManifests.Container(rendered.PodSpec, "initContainers", "migrate") };
        foreach (var container in containers)
        {
            var mount = container["volumeMounts"]!.AsArray().OfType<JsonObject>().Single(m => (string?)m["name"] == "config");
            var profile = (string?)RenderedManifests.Env(container, "TOKENGRID_PROFILE")?["value"];
            Assert.Equal($"{(string)mount["mountPath"]!}/kubernetes.json", profile);
        }
    }

    [Theory]
    [MemberData(nameof(All))]
    public async Task Secrets_come_from_a_secret_never_from_a_value(string kustomization)
    {
        var rendered = await K8sTools.RenderAsync(kustomization);

        foreach (var setting in SecretSettings)
        {
            var env = RenderedManifests.Env(rendered.Silo, setting);
            Assert.True(env?["valueFrom"]?["secretKeyRef"] is not null, $"{setting} is not read from a Secret");
            Assert.Null(env!["value"]);
        }

        Assert.DoesNotContain("ConnectionString", (string?)rendered.Single("ConfigMap", "tokengrid-config", prefix: true)["data"]!["kubernetes.json"], StringComparison.Ordinal);

        // Where the overlay brings its Secrets (dev), every key the silos read exists.
        var secrets = rendered.OfKind("Secret").ToDictionary(RenderedManifests.NameOf);
        if (secrets.Count > 0)
        {
            foreach (var (workload, container) in rendered.AllContainers())
            {
                foreach (var env in (container["env"] as JsonArray ?? []).OfType<JsonObject>())
                {
                    if (env["valueFrom"]?["secretKeyRef"] is JsonObject reference)
                    {
                        var secret = secrets[(string)reference["name"]!];
                        Assert.True(secret["stringData"]?[(string)reference["key"]!] is not null || secret["data"]?[(string)reference["key"]!] is not null,
                            $"{workload} reads {reference["key"]} from {reference["name"]}, which has no such key");
                    }
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(All))]
    public async Task Updates_and_disruptions_never_take_the_last_ready_silos_and_stops_drain_the_jobs(string kustomization)
    {
        var rendered = await K8sTools.RenderAsync(kustomization);
        var spec = rendered.Deployment["spec"]!;

        Assert.Equal("RollingUpdate", (string?)spec["strategy"]!["type"]);
        Assert.Equal(0, (int)spec["strategy"]!["rollingUpdate"]!["maxUnavailable"]!);
        Assert.True((int)spec["strategy"]!["rollingUpdate"]!["maxSurge"]! >= 1);

        var budget = Assert.Single(rendered.OfKind("PodDisruptionBudget"));
        Assert.Equal(1, (int)budget["spec"]!["maxUnavailable"]!);
        AssertSelectsSilos(rendered, budget["spec"]!["selector"]!["matchLabels"]!.AsObject());

        // A stopping silo drains its engines for up to the host's shutdown timeout, which covers the job timeout; the
        // grace period covers both, so Kubernetes never kills a draining silo.
        var jobTimeout = TimeSpan.Parse((string)Profile["TokenGrid"]!["Api"]!["JobTimeout"]!, System.Globalization.CultureInfo.InvariantCulture);
        var shutdown = (int)Profile["shutdownTimeoutSeconds"]!;
        var grace = (int)rendered.PodSpec["terminationGracePeriodSeconds"]!;
        var preStop = (int?)rendered.Silo["lifecycle"]?["preStop"]?["sleep"]?["seconds"] ?? 0;
        Assert.True(shutdown >= jobTimeout.TotalSeconds, $"shutdownTimeoutSeconds {shutdown} < JobTimeout {jobTimeout}");
        Assert.True(grace >= preStop + shutdown + 15, $"terminationGracePeriodSeconds {grace} leaves no room after preStop {preStop} s and a {shutdown} s drain");
    }

    [Theory]
    [MemberData(nameof(All))]
    public async Task Only_silos_reach_the_silo_port_and_the_http_port_is_open(string kustomization)
    {
        var rendered = await K8sTools.RenderAsync(kustomization);

        // Orleans' silo-to-silo protocol has no authentication: whoever reaches the port can call any grain.
        var policy = rendered.Single("NetworkPolicy", "tokengrid-silos");
        AssertSelectsSilos(rendered, policy["spec"]!["podSelector"]!["matchLabels"]!.AsObject());
        Assert.Equal(["Ingress"], Strings(policy["spec"]!["policyTypes"]));
        var rules = policy["spec"]!["ingress"]!.AsArray().OfType<JsonObject>().ToList();
        var containerPorts = rendered.Silo["ports"]!.AsArray().OfType<JsonObject>().Select(p => (string)p["name"]!).Order().ToList();
        Assert.Equal(containerPorts, rules.SelectMany(r => r["ports"]!.AsArray().Select(p => (string)p!["port"]!)).Order().ToList());
        foreach (var rule in rules)
        {
            var ports = rule["ports"]!.AsArray().Select(p => (string)p!["port"]!).ToList();
            if (ports.Contains("silo"))
            {
                Assert.Equal(["silo"], ports);
                var from = Assert.Single(rule["from"]!.AsArray())!.AsObject();
                Assert.Equal(["podSelector"], from.Select(kv => kv.Key));
                AssertSelectsSilos(rendered, from["podSelector"]!["matchLabels"]!.AsObject());
            }
            else
            {
                Assert.Null(rule["from"]);
            }
        }
    }

    [Theory]
    [MemberData(nameof(All))]
    public async Task Silos_spread_across_zones(string kustomization)
    {
        var rendered = await K8sTools.RenderAsync(kustomization);

        var zone = rendered.PodSpec["topologySpreadConstraints"]!.AsArray().OfType<JsonObject>()
            .Single(c => (string?)c["topologyKey"] == "topology.kubernetes.io/zone");
        Assert.Equal(1, (int)zone["maxSkew"]!);
        AssertSelectsSilos(rendered, zone["labelSelector"]!["matchLabels"]!.AsObject());
    }

    [Theory]
    [MemberData(nameof(All))]
    public async Task Migrations_run_before_the_silo_with_the_same_image(string kustomization)
    {
        var rendered = await K8sTools.RenderAsync(kustomization);

        var migrate = RenderedManifests.Container(rendered.PodSpec, "initContainers", "migrate");
        Assert.Equal(["db", "migrate"], Strings(migrate["args"]));
        Assert.Null(migrate["command"]);
        Assert.Equal((string?)rendered.Silo["image"], (string?)migrate["image"]);
        Assert.NotNull(RenderedManifests.Env(migrate, "TokenGrid__Database__ConnectionString")?["valueFrom"]?["secretKeyRef"]);
        Assert.Equal(false, (bool?)Profile["TokenGrid"]!["Database"]!["MigrateOnStartup"]);
    }

    [Theory]
    [MemberData(nameof(All))]
    public async Task The_service_and_its_monitor_reach_the_http_port(string kustomization)
    {
        var rendered = await K8sTools.RenderAsync(kustomization);

        var service = rendered.Single("Service", "tokengrid");
        AssertSelectsSilos(rendered, service["spec"]!["selector"]!.AsObject());
        var port = service["spec"]!["ports"]!.AsArray().OfType<JsonObject>().Single(p => (string?)p["name"] == "http");
        Assert.Equal("http", (string?)port["targetPort"]);

        var monitors = rendered.OfKind("ServiceMonitor").ToList();
        if (kustomization == "overlays/dev")
        {
            Assert.Empty(monitors);
            return;
        }

        var monitor = Assert.Single(monitors);
        var serviceLabels = service["metadata"]!["labels"]!.AsObject();
        foreach (var (key, value) in monitor["spec"]!["selector"]!["matchLabels"]!.AsObject())
        {
            Assert.Equal((string?)value, (string?)serviceLabels[key]);
        }

        var endpoint = Assert.Single(monitor["spec"]!["endpoints"]!.AsArray())!;
        Assert.Equal("http", (string?)endpoint["port"]);
        Assert.Equal("/metrics", (string?)endpoint["path"]);
    }

    [Theory]
    [MemberData(nameof(All))]
    public async Task Namespaced_objects_of_an_overlay_share_its_namespace(string kustomization)
    {
        var rendered = await K8sTools.RenderAsync(kustomization);
        var namespaces = rendered.OfKind("Namespace").Select(RenderedManifests.NameOf).ToList();
        if (kustomization == "base")
        {
            Assert.Empty(namespaces);
            return;
        }

        var ns = Assert.Single(namespaces);
        foreach (var o in rendered.Objects.Where(o => (string?)o["kind"] != "Namespace"))
        {
            Assert.True((string?)o["metadata"]!["namespace"] == ns, $"{o["kind"]}/{RenderedManifests.NameOf(o)} is not in {ns}");
        }
    }

    [Fact]
    public async Task The_gpu_overlay_runs_the_gpu_image_on_gpu_nodes_with_models_from_a_volume()
    {
        var rendered = await K8sTools.RenderAsync("overlays/gpu");
        var silo = rendered.Silo;

        Assert.Equal("1", (string?)silo["resources"]!["limits"]!["nvidia.com/gpu"]);
        Assert.Equal("tokengrid:gpu", (string?)silo["image"]);
        Assert.Equal("true", (string?)rendered.PodSpec["nodeSelector"]!["nvidia.com/gpu.present"]);
        Assert.Contains(rendered.PodSpec["tolerations"]!.AsArray().OfType<JsonObject>(),
            t => (string?)t["key"] == "nvidia.com/gpu" && (string?)t["effect"] == "NoSchedule");
        Assert.Equal("gpu0", (string?)RenderedManifests.Env(silo, "TokenGrid__Nodes__Devices__0")?["value"]);

        var mount = silo["volumeMounts"]!.AsArray().OfType<JsonObject>().Single(m => (string?)m["name"] == "models");
        Assert.True((bool?)mount["readOnly"]);
        var volume = rendered.PodSpec["volumes"]!.AsArray().OfType<JsonObject>().Single(v => (string?)v["name"] == "models");
        rendered.Single("PersistentVolumeClaim", (string)volume["persistentVolumeClaim"]!["claimName"]!);
        var directory = (string?)RenderedManifests.Env(silo, "TokenGrid__Models__Entries__0__Directory")?["value"];
        Assert.StartsWith((string)mount["mountPath"]! + "/", directory, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_dev_overlay_runs_cpu_silos_with_the_demo_model_and_its_own_postgres()
    {
        var rendered = await K8sTools.RenderAsync("overlays/dev");

        Assert.DoesNotContain("nvidia.com/gpu", rendered.Yaml, StringComparison.Ordinal);
        Assert.Equal("tokengrid:cpu", (string?)rendered.Silo["image"]);
        Assert.Equal("demo", (string?)Profile["TokenGrid"]!["Models"]!["Entries"]![0]!["Directory"]);
        Assert.Null(RenderedManifests.Env(rendered.Silo, "TokenGrid__Models__Entries__0__Directory"));
        Assert.Equal("true", (string?)RenderedManifests.Env(rendered.Silo, "TokenGrid__Demo__Enabled")?["value"]);

        var postgres = rendered.Single("StatefulSet", "postgres");
        Assert.Equal(1, (int)postgres["spec"]!["replicas"]!);
        var service = rendered.Single("Service", "postgres");
        var connection = (string?)rendered.Single("Secret", "tokengrid-secrets")["stringData"]!["database-connection-string"];
        Assert.Contains($"Host={RenderedManifests.NameOf(service)};", connection, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_autoscaling_example_scales_the_silos_on_the_queue_metric()
    {
        var rendered = await K8sTools.RenderAsync("examples/gpu-autoscaling");

        var scaled = Assert.Single(rendered.OfKind("ScaledObject"));
        Assert.Equal("Deployment", (string?)scaled["spec"]!["scaleTargetRef"]!["kind"]);
        Assert.Equal(RenderedManifests.NameOf(rendered.Deployment), (string?)scaled["spec"]!["scaleTargetRef"]!["name"]);
        var trigger = Assert.Single(scaled["spec"]!["triggers"]!.AsArray())!;
        Assert.Equal("prometheus", (string?)trigger["type"]);
        Assert.Contains("tokengrid_requests_waiting", (string?)trigger["metadata"]!["query"], StringComparison.Ordinal);
        // KEDA's autoscaler owns the replica count; an apply must not reset it.
        Assert.Null(rendered.Deployment["spec"]!["replicas"]);
    }

    private static void AssertSelectsSilos(RenderedManifests rendered, JsonObject selector)
    {
        var podLabels = rendered.Deployment["spec"]!["template"]!["metadata"]!["labels"]!.AsObject();
        Assert.NotEmpty(selector);
        foreach (var (key, value) in selector)
        {
            Assert.Equal((string?)value, (string?)podLabels[key]);
        }

        // Only the silos: the dev database's pods must not match.
        foreach (var other in rendered.OfKind("StatefulSet"))
        {
            var labels = other["spec"]!["template"]!["metadata"]!["labels"]!.AsObject();
            Assert.False(selector.All(s => (string?)labels[s.Key] == (string?)s.Value), $"{RenderedManifests.NameOf(other)} matches the silos' selector");
        }
    }

    private static string? FieldRef(JsonObject container, string name) =>
        (string?)RenderedManifests.Env(container, name)?["valueFrom"]?["fieldRef"]?["fieldPath"];

    private static List<string> Strings(JsonNode? node) => (node as JsonArray ?? []).Select(n => (string)n!).ToList();
}
