using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration.EnvironmentVariables;
using Microsoft.Extensions.Configuration.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using TokenGrid.Silo.Hosting;

namespace TokenGrid.Silo.Tests;

/// <summary>What the shipped profiles configure in the host itself, read from a built (not started) application.</summary>
public sealed class ProfileTests
{
    [Fact]
    public void The_kubernetes_profile_gives_running_jobs_the_host_shutdown_timeout_the_pod_grace_period_covers()
    {
        // The Kubernetes hosting check is switched off: this process is not a pod. Nothing connects while building.
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            ApplicationName = "TokenGrid.Silo",
            Args =
            [
                "--profile", "kubernetes", "--TokenGrid:Kubernetes:Enabled", "false",
                "--TokenGrid:Database:ConnectionString", "Host=127.0.0.1;Username=u;Password=p;Database=d",
            ],
        });
        builder.AddTokenGrid();
        using var app = builder.Build();

        Assert.Equal(TimeSpan.FromSeconds(600), app.Services.GetRequiredService<IOptions<HostOptions>>().Value.ShutdownTimeout);
    }

    [Fact]
    public void Every_environment_variable_overrides_the_profile_aspnetcore_urls_too()
    {
        // Container images set ASPNETCORE_URLS (or ASPNETCORE_HTTP_PORTS); ASP.NET Core reads it through a source of its
        // own, which the profile must sit beneath, as it sits beneath TokenGrid__* variables and the command line.
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { ApplicationName = "TokenGrid.Silo", Args = ["--profile", "local"] });
        builder.AddTokenGrid();
        var sources = builder.Configuration.Sources.ToList();
        var profile = sources.FindIndex(s => s is JsonConfigurationSource { Path: { } path } && path.EndsWith("local.json", StringComparison.Ordinal));
        var environment = sources.Select((s, i) => (s, i)).Where(x => x.s is EnvironmentVariablesConfigurationSource).Select(x => x.i).ToList();

        Assert.True(profile >= 0, "no profile source");
        Assert.Contains(environment, i => sources[i] is EnvironmentVariablesConfigurationSource { Prefix: "ASPNETCORE_" });
        Assert.All(environment, i => Assert.True(i > profile, $"environment source {i} ({((EnvironmentVariablesConfigurationSource)sources[i]).Prefix}) is beneath the profile ({profile})"));
    }

    [Theory]
    [InlineData(null, 100_000)]
    [InlineData("2500", 2_500)]
    [InlineData("0", 0)]
    public void The_silos_grain_directory_cache_is_bounded_by_its_setting(string? setting, int expected)
    {
        // Orleans' own default (a million locations) grows by one job's location with every request.
        string[] args = setting is null ? ["--profile", "local"] : ["--profile", "local", "--TokenGrid:Cluster:DirectoryCacheSize", setting];
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { ApplicationName = "TokenGrid.Silo", Args = args });
        builder.AddTokenGrid();
        using var app = builder.Build();

        Assert.Equal(expected, app.Services.GetRequiredService<IOptions<GrainDirectoryOptions>>().Value.CacheSize);
    }
}
