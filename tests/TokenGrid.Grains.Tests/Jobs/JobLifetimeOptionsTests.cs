using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using TokenGrid.Grains.Jobs;
using TokenGrid.Grains.Nodes;

namespace TokenGrid.Grains.Tests.Jobs;

public sealed class JobLifetimeOptionsTests
{
    [Fact]
    public void By_default_the_job_grain_class_is_collected_after_two_idle_minutes()
    {
        using var host = Build([]);

        Assert.Equal(TimeSpan.FromMinutes(2), CollectionAgeOfJobs(host));
        // Only the job grains: every other grain keeps Orleans' default.
        Assert.Equal(TimeSpan.FromMinutes(15), host.Services.GetRequiredService<IOptions<GrainCollectionOptions>>().Value.CollectionAge);
    }

    [Fact]
    public void The_configured_grace_is_the_job_grain_collection_age()
    {
        using var host = Build(new() { ["TokenGrid:Jobs:ReattachGrace"] = "00:05:00" });

        Assert.Equal(TimeSpan.FromMinutes(5), CollectionAgeOfJobs(host));
    }

    [Theory]
    [InlineData("00:00:00")]
    [InlineData("-00:00:01")]
    public void A_grace_that_is_not_positive_is_refused(string grace)
    {
        using var host = Build(new() { ["TokenGrid:Jobs:ReattachGrace"] = grace });

        var error = Assert.Throws<OptionsValidationException>(() => host.Services.GetRequiredService<IOptions<JobLifetimeOptions>>().Value);
        Assert.Contains("TokenGrid:Jobs: the re-attach grace must be positive.", error.Message);
    }

    private static TimeSpan CollectionAgeOfJobs(IHost host) =>
        host.Services.GetRequiredService<IOptions<GrainCollectionOptions>>().Value.ClassSpecificCollectionAge[typeof(JobGrain).FullName!];

    private static IHost Build(Dictionary<string, string?> settings)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(settings);
        builder.UseOrleans(silo => silo.UseLocalhostClustering().AddTokenGridNodes());
        return builder.Build();
    }
}
