using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;
using TokenGrid.Grains.Audit;
using TokenGrid.Grains.Billing;
using TokenGrid.Grains.Billing.Statements;
using TokenGrid.Grains.Tenants;
using TokenGrid.Silo.Apis;
using TokenGrid.Silo.Audit;
using TokenGrid.Silo.Auth;
using TokenGrid.Silo.Billing;
using TokenGrid.Silo.Dashboard;
using TokenGrid.Silo.Options;
using TokenGrid.Silo.Problems;
using TokenGrid.Silo.Serving;

namespace TokenGrid.Silo.Hosting;

/// <summary>The one entry point that turns a web application into a TokenGrid silo with its HTTP API.</summary>
public static class TokenGridHosting
{
    /// <summary>
    /// Loads the configuration profile, then adds the Orleans silo, the grains' services, the HTTP API's services,
    /// health checks, metrics and the OpenAPI document. Options are validated when the host starts.
    /// </summary>
    public static WebApplicationBuilder AddTokenGrid(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var profile = ConfigurationProfiles.AddProfile(builder.Configuration);
        SettingsCheck.Run(builder.Configuration);
        var cluster = builder.Configuration.GetValidated<ClusterHostingOptions>();
        builder.UseOrleans(silo => silo.AddTokenGridSilo(cluster));

        var services = builder.Services;
        services.AddValidatedOptions<ClusterHostingOptions>();
        services.AddValidatedOptions<ApiOptions>();
        services.AddValidatedOptions<AdminOptions>();
        services.AddValidatedOptions<DemoOptions>();
        services.AddTokenGridTenants();
        services.AddTokenGridStatements();
        services.AddTokenGridAudit();
        services.AddTokenGridBilling();
        services.AddValidatedOptions<SpendWebhookOptions>();
        services.AddSingleton<ISpendWebhookSender, SpendWebhookSender>();
        builder.AddTokenGridDashboard();
        builder.AddTokenGridTelemetry(cluster);

        // After Orleans' hosted service, so it runs once the silo is up; the web server starts after every hosted service.
        services.AddSingleton(new StartupState { Profile = profile });
        services.AddHostedService<StartupProvisioner>();
        services.AddHostedService<StartupBanner>();

        services.AddSingleton<ServerClock>();
        services.AddSingleton<AdminKey>();
        services.AddTokenGridAuth(keysInDatabase: cluster.Storage == StorageKind.AdoNet);
        services.AddSingleton<GenerationPlanner>();
        services.AddSingleton<JobSubmitter>();
        services.AddSingleton<OpenAi.ResponseStore>();
        services.AddSingleton<AdminAudit>();
        services.AddSingleton<IAuditRecorder>(sp => sp.GetRequiredService<AdminAudit>());
        services.AddApiProblems();
        services.ConfigureHttpJsonOptions(options =>
        {
            options.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
            // Enums are their snake_case names only, as the API documents them: an integer would stand for a member
            // by its declaration order, which no client can know.
            options.SerializerOptions.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower, allowIntegerValues: false));
            options.SerializerOptions.Converters.Add(new MoneyJsonConverter());

            // A body giving a property twice is ambiguous (a proxy may read the first, we would read the last): 400.
            options.SerializerOptions.AllowDuplicateProperties = false;

            // Field names and types as OpenAI reads them: "MAX_TOKENS" is not max_tokens (it is an unrecognized field) and
            // "2" is not a number (a wrong type), where the Web defaults would take both.
            options.SerializerOptions.PropertyNameCaseInsensitive = false;
            options.SerializerOptions.NumberHandling = JsonNumberHandling.Strict;

            // A field no request object declares is a 400 naming it, not dropped: "efective_from" would publish prices now.
            options.SerializerOptions.TypeInfoResolver = (options.SerializerOptions.TypeInfoResolver ?? new DefaultJsonTypeInfoResolver())
                .WithAddedModifier(UnknownFields.Refuse);
        });
        services.Configure<Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets.SocketTransportOptions>(ClientSockets.Configure);
        services.AddOptions<KestrelServerOptions>()
            .Configure<IConfiguration, IOptions<ApiOptions>>((kestrel, configuration, api) => KestrelLimits.Apply(kestrel.Limits, configuration, api.Value));
        services.AddHealthChecks()
            .AddCheck<StartupHealthCheck>("startup", tags: [StartupHealthCheck.Tag])
            .AddCheck<ReadinessHealthCheck>("ready", tags: [ReadinessHealthCheck.Tag]);
        services.AddOpenApi(options => options.AddDocumentTransformer<SecuritySchemesTransformer>().AddOperationTransformer<SecuritySchemesTransformer>()
            .AddOperationTransformer<ProblemResponsesTransformer>().AddDocumentTransformer<ProblemResponsesTransformer>());
        return builder;
    }

    /// <summary>Maps the API, the health probes, <c>/metrics</c> and <c>/openapi/v1.json</c>.</summary>
    public static WebApplication MapTokenGrid(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.UseRequestIds();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseRequestGuard();
        app.UseDashboardHeaders();
        app.UseAuthentication();
        app.UseAuthorization();

        var v1 = app.MapGroup("/v1").RequireTenant().AddEndpointFilter<QueryNamesFilter>();
        v1.MapCompletionsApi().MapChatCompletionsApi().MapResponsesApi().MapModelsApi().MapJobsApi().MapUsageApi().MapStatementsApi().MapBillingEventsApi().MapBillingWebhookApi();

        var admin = app.MapGroup("/admin").RequireAdmin().AddEndpointFilter<QueryNamesFilter>();
        admin.MapAdminTenantsApi().MapAdminKeysApi().MapAdminNodesApi().MapAdminModelsApi().MapAdminPricesApi().MapAdminPeriodsApi().MapAdminSubsidiesApi();

        // The read-only ledger, billing views and audit log: the auditor key's, and the admin key's.
        var audit = app.MapGroup("/admin").RequireAuditor().AddEndpointFilter<QueryNamesFilter>();
        audit.MapAdminLedgerApi().MapAuditPricesApi().MapAuditSubsidiesApi().MapAdminAuditApi().MapAuditStatementsApi().MapAuditBillingEventsApi().MapAuditFlowsApi();

        // The dashboard's spend view: the auditor's and the admin's, by key or by dashboard session.
        app.MapGroup("/admin/billing").RequireSpendView().AddEndpointFilter<QueryNamesFilter>().NoStore().MapBillingOverviewApi();
        app.MapTokenGridDashboard();

        app.MapHealthChecks("/health/startup", new HealthCheckOptions { Predicate = c => c.Tags.Contains(StartupHealthCheck.Tag) });
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = c => c.Tags.Contains(ReadinessHealthCheck.Tag) });
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false });
        app.MapTokenGridTelemetry();
        app.MapOpenApi();
        return app;
    }
}
