using Microsoft.AspNetCore.Builder;
using TokenGrid.Grains;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using TokenGrid.Silo.Hosting;
using TokenGrid.Silo.Tests.Support;

namespace TokenGrid.Silo.Tests.Hosting;

/// <summary>
/// A platform team's configuration mistakes stop the start with one line naming the setting (<see cref="SettingsCheck"/>),
/// read from a built (not started) application, as the executable prints it.
/// </summary>
public sealed class SettingsCheckTests
{
    [Theory]
    [InlineData("TokenGrid:Api:JobTimeout", "10m", "a duration written [d.]hh:mm:ss")]
    [InlineData("TokenGrid:Api:JobTimeout", "99999999.00:00:00", "a duration written [d.]hh:mm:ss")]
    [InlineData("TokenGrid:Cluster:SiloPort", "abc", "a whole number from -2,147,483,648 to 2,147,483,647")]
    [InlineData("TokenGrid:Api:MaxRequestBodyBytes", "99999999999999999999", "a whole number from -9,223,372,036,854,775,808")]
    [InlineData("TokenGrid:Cluster:Clustering", "Postgres", "one of Localhost, AdoNet")]
    [InlineData("TokenGrid:Demo:Enabled", "yes", "true or false")]
    [InlineData("TokenGrid:Cluster:Membership:ProbeTimeout", "2s", "a duration written")]
    [InlineData("TokenGrid:Nodes:IntraOpThreads", "two", "a whole number")]
    public void A_value_the_setting_cannot_take_stops_the_start_naming_the_setting_the_value_and_what_it_takes(
        string setting, string value, string expected)
    {
        var error = Assert.Throws<StartupConfigurationException>(() => Build("--" + setting, value));

        Assert.StartsWith($"{setting} is '{value}', which is not ", error.Message, StringComparison.Ordinal);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Theory]
    [InlineData("TokenGrid:Admin:ApiKy", "TokenGrid:Admin:ApiKey")]
    [InlineData("TokenGrid:Databse:ConnectionString", "TokenGrid:Database:ConnectionString")]
    [InlineData("TokenGrid:Models:Entries:0:Directroy", "TokenGrid:Models:Entries:0:Directory")]
    [InlineData("TokenGrid:Nodes:IntraOpThread", "TokenGrid:Nodes:IntraOpThreads")]
    [InlineData("TokenGrid:Cluster:Membership:ProbeTimout", "TokenGrid:Cluster:Membership:ProbeTimeout")]
    [InlineData("TokenGrid:Nodes:Engine:PrefixCacheToken", "TokenGrid:Nodes:Engine:PrefixCacheTokens")]
    [InlineData("TokenGrid:Telemetry:TenantSeries:TopM", "TokenGrid:Telemetry:TenantSeries:TopN")]
    public void A_misspelled_setting_stops_the_start_naming_it_and_the_setting_it_is_close_to(string setting, string meant)
    {
        var error = Assert.Throws<StartupConfigurationException>(() => Build("--" + setting, "cfg49-a-key-of-16-chars-or-more"));

        Assert.StartsWith($"{setting} (did you mean {meant}?): no such setting", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("cfg49-a-key", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Settings_far_from_any_name_are_named_all_at_once()
    {
        var error = Assert.Throws<StartupConfigurationException>(() => Build("--TokenGrid:Frobnicate", "1", "--TokenGrid:Api:Zzzzzzzzz", "2"));

        Assert.Equal("TokenGrid:Api:Zzzzzzzzz, TokenGrid:Frobnicate: no such settings, so they would be ignored (settings are listed in silo-config/README.md).", error.Message);
    }

    [Theory]
    [InlineData("TokenGrid:Retention:Tenants:acme")]
    [InlineData("TokenGrid:Nodes:DeviceLabels:cpu0:zone")]
    [InlineData("TokenGrid:Nodes:Labels:region")]
    [InlineData("TokenGrid:Models:Entries:1:ModelFile")]
    [InlineData("tokengrid:api:jobtimeout")]
    [InlineData("TokenGrid:Demo:Budget:RequestsPerMinute")]
    [InlineData("TokenGrid:Telemetry:Otlp:Headers")]
    public void Settings_of_dictionaries_lists_and_nested_options_are_known_in_any_case(string setting) =>
        Assert.True(SettingsCheck.IsKnown(setting));

    [Theory]
    [InlineData("garbage", "Format of the initialization string does not conform to specification")]
    [InlineData("Host=127.0.0.1;Foo=bar;Password=secret-pw", "Couldn't set foo")]
    [InlineData("Host=127.0.0.1;Port=abc;Password=secret-pw", "Couldn't set port")]
    public void A_connection_string_npgsql_cannot_read_stops_the_start_naming_the_setting_and_not_the_password(string connectionString, string reason)
    {
        var error = Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() =>
            Build("--profile", "postgres", "--TokenGrid:Database:ConnectionString", connectionString));

        Assert.StartsWith("TokenGrid:Database: the connection string is not one Npgsql reads (", error.Message, StringComparison.Ordinal);
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("secret-pw", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("htp://127.0.0.1:8080")]
    [InlineData("http://127.0.0.1:99999")]
    [InlineData("127.0.0.1:8080")]
    [InlineData("http://127.0.0.1:8080;not a url")]
    public void A_url_the_http_server_cannot_listen_on_stops_the_start_naming_it(string urls)
    {
        var error = Assert.Throws<StartupConfigurationException>(() => Build("--urls", urls));

        Assert.StartsWith("Urls (ASPNETCORE_URLS, --urls or the profile's Urls) has '", error.Message, StringComparison.Ordinal);
        Assert.Contains(urls.Split(';')[^1], error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://127.0.0.1:0")]
    [InlineData("http://+:8080;https://localhost:8443")]
    [InlineData("http://[::1]:8080")]
    public void Addresses_kestrel_listens_on_pass(string urls) => SettingsCheck.CheckUrls(urls);

    [Fact]
    public async Task A_port_another_process_holds_is_named_by_its_setting()
    {
        using var holder = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        holder.Start();
        var port = ((System.Net.IPEndPoint)holder.LocalEndpoint).Port;

        var http = await Assert.ThrowsAnyAsync<Exception>(() => TokenGridServer.StartAsync(new Dictionary<string, string> { ["urls"] = $"http://127.0.0.1:{port}" }));
        Assert.Equal(
            $"the HTTP address http://127.0.0.1:{port} (Urls: ASPNETCORE_URLS, --urls or the profile's Urls) is in use by another process; stop it or choose another port.",
            ListenFailure.Describe(http, null));

        var siloPort = new Dictionary<string, string?> { ["TokenGrid:Cluster:SiloPort"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        var silo = await Assert.ThrowsAnyAsync<Exception>(() => TokenGridServer.StartAsync(siloPort!));
        Assert.Equal(
            $"the silo port {port} (TokenGrid:Cluster:SiloPort) is in use by another process, another silo on this machine perhaps: give each silo ports of its own.",
            ListenFailure.Describe(silo, new ConfigurationBuilder().AddInMemoryCollection(siloPort).Build()));

        Assert.Null(ListenFailure.Describe(new InvalidOperationException("something else"), null));
    }

    [Fact]
    public async Task More_intra_op_threads_than_cores_on_a_cpu_node_starts_with_a_warning_naming_the_setting()
    {
        var log = new ErrorLogCapture(Microsoft.Extensions.Logging.LogLevel.Warning);
        var threads = Environment.ProcessorCount + 1;
        await using var server = await TokenGridServer.StartAsync(
            new Dictionary<string, string> { ["TokenGrid:Nodes:IntraOpThreads"] = threads.ToString(System.Globalization.CultureInfo.InvariantCulture) },
            services: s => s.AddSingleton<Microsoft.Extensions.Logging.ILoggerProvider>(log));

        Assert.Contains(log.Errors, e => e.Contains(
            $"runs its models with {threads} intra-op threads (TokenGrid:Nodes:IntraOpThreads or DeviceIntraOpThreads) on {Environment.ProcessorCount} cores",
            StringComparison.Ordinal));
    }

    [Fact]
    public void Every_validated_options_type_is_checked()
    {
        var checkedTypes = SettingsCheck.Sections.Select(s => s.Type).ToHashSet();
        var validated = new[] { typeof(IValidatedOptions).Assembly, typeof(SettingsCheck).Assembly }
            .SelectMany(a => a.GetTypes())
            .Where(t => t is { IsClass: true, IsAbstract: false } && typeof(IValidatedOptions).IsAssignableFrom(t));
        Assert.All(validated, t => Assert.Contains(t, checkedTypes));
    }

    private static void Build(params string[] settings)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            ApplicationName = "TokenGrid.Silo",
            Args = ["--profile", "local", .. settings],
        });
        builder.AddTokenGrid();
        using var app = builder.Build();
    }
}
