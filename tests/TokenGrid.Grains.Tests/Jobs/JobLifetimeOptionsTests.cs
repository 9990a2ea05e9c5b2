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

    /// <summary>
    /// Orleans files an idle grain under its age rounded up to a quantum boundary, and its collector visits the files once
    /// per quantum at the silo's own phase, so a finished job goes up to two quanta after its grace. With Orleans' default
    /// 1-minute quantum the 2-minute grace let a job live up to 4 minutes (the soak's bound is grace + 1 minute).
    /// </summary>
    [Theory]
    [InlineData("00:00:04")]
    [InlineData("00:01:00")]
    [InlineData("00:02:00")]
    [InlineData("00:10:00")]
    public void A_finished_job_is_collected_within_a_minute_of_its_grace(string setting)
    {
        using var host = Build(new() { ["TokenGrid:Jobs:ReattachGrace"] = setting });
        var grace = TimeSpan.Parse(setting, System.Globalization.CultureInfo.InvariantCulture);
        var collection = host.Services.GetRequiredService<IOptions<GrainCollectionOptions>>().Value;

        var latest = CollectionAgeOfJobs(host) + (2 * collection.CollectionQuantum);
        Assert.Equal(grace, CollectionAgeOfJobs(host));
        Assert.True(latest <= grace + TimeSpan.FromMinutes(1), $"A job with a {grace} grace may live {latest} (quantum {collection.CollectionQuantum}).");

        // Orleans accepts the pair (an age must exceed the quantum), and the other grains keep their age.
        Assert.True(CollectionAgeOfJobs(host) > collection.CollectionQuantum);
        Assert.Equal(TimeSpan.FromMinutes(15), collection.CollectionAge);
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
