using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using TokenGrid.Grains.Billing;

namespace TokenGrid.Grains.Tests.Billing;

public sealed class SubsidyOptionsTests
{
    [Theory]
    [InlineData("ReservationTimeout", "00:00:00", "TokenGrid:Subsidies: the reservation timeout must be positive.")]
    [InlineData("RepairPeriod", "00:00:00.5", "TokenGrid:Subsidies: the repair period must be at least one second.")]
    public void Invalid_settings_are_refused_with_their_section(string key, string value, string message)
    {
        using var services = Services(new() { [$"TokenGrid:Subsidies:{key}"] = value });

        var error = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<SubsidyOptions>>().Value);
        Assert.Equal(message, Assert.Single(error.Failures));
    }

    [Fact]
    public void Settings_bind_and_default()
    {
        using var configured = Services(new() { ["TokenGrid:Subsidies:ReservationTimeout"] = "00:10:00" });
        using var defaults = Services([]);

        Assert.Equal(TimeSpan.FromMinutes(10), configured.GetRequiredService<IOptions<SubsidyOptions>>().Value.ReservationTimeout);
        var options = defaults.GetRequiredService<IOptions<SubsidyOptions>>().Value;
        Assert.Equal((TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(1)), (options.ReservationTimeout, options.RepairPeriod));
    }

    private static ServiceProvider Services(Dictionary<string, string?> settings)
    {
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(settings).Build());
        services.AddTokenGridBilling();
        return services.BuildServiceProvider();
    }
}
