using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using TokenGrid.Grains.Jobs;
using TokenGrid.Grains.Jobs.Retention;
using TokenGrid.Grains.Nodes;

namespace TokenGrid.Grains.Tests.Jobs;

/// <summary>
/// The jobs' options are validated the one way TokenGrid's options are (<see cref="IValidatedOptions"/>), once however
/// many features register them; retention is also checked against the re-attach grace.
/// </summary>
public sealed class JobOptionsValidationTests
{
    [Fact]
    public void Invalid_recovery_options_are_refused_with_their_section()
    {
        using var host = Build(new() { ["TokenGrid:Jobs:CheckpointInterval"] = "00:00:00" });

        var error = Assert.Throws<OptionsValidationException>(() => host.Services.GetRequiredService<IOptions<JobRecoveryOptions>>().Value);
        Assert.Equal(["TokenGrid:Jobs: the checkpoint interval must be positive."], error.Failures);
    }

    [Fact]
    public void An_unwatched_stream_grace_that_is_not_positive_is_refused()
    {
        using var host = Build(new() { ["TokenGrid:Jobs:UnwatchedStreamGrace"] = "00:00:00" });

        var error = Assert.Throws<OptionsValidationException>(() => host.Services.GetRequiredService<IOptions<JobRecoveryOptions>>().Value);
        Assert.Equal(["TokenGrid:Jobs: the unwatched stream grace must be positive."], error.Failures);
    }

    [Fact]
    public void A_streamed_retention_shorter_than_the_reattach_grace_is_refused()
    {
        using var host = Build(new() { ["TokenGrid:Retention:StreamedJobs"] = "00:01:00", ["TokenGrid:Retention:BatchSize"] = "0" });

        var error = Assert.Throws<OptionsValidationException>(() => host.Services.GetRequiredService<IOptions<JobRetentionOptions>>().Value);
        Assert.Equal(
            ["TokenGrid:Retention: StreamedJobs (00:01:00) must be at least the re-attach grace (TokenGrid:Jobs:ReattachGrace, 00:02:00)."],
            error.Failures);
    }

    [Fact]
    public void Invalid_retention_options_are_refused_on_their_own_terms_too()
    {
        using var host = Build(new() { ["TokenGrid:Retention:BatchSize"] = "0" });

        var error = Assert.Throws<OptionsValidationException>(() => host.Services.GetRequiredService<IOptions<JobRetentionOptions>>().Value);
        Assert.Equal(["TokenGrid:Retention: BatchSize must be at least 1."], error.Failures);
    }

    [Fact]
    public void Options_registered_by_several_features_are_validated_once()
    {
        var services = new ServiceCollection();
        for (var i = 0; i < 2; i++)
        {
            JobRecoveryOptions.Register(services);
            JobLifetimeOptions.Register(services);
            JobRetentionOptions.Register(services);
        }

        Assert.Single(services, s => s.ServiceType == typeof(IValidateOptions<JobRecoveryOptions>));
        Assert.Single(services, s => s.ServiceType == typeof(IValidateOptions<JobLifetimeOptions>));
        Assert.Single(services, s => s.ServiceType == typeof(IValidateOptions<JobRetentionOptions>));
    }

    private static IHost Build(Dictionary<string, string?> settings)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(settings);
        builder.UseOrleans(silo => silo.UseLocalhostClustering().AddTokenGridNodes());
        return builder.Build();
    }
}
