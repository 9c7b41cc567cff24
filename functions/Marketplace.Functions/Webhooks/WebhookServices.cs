using JasperFx.Events.Projections;
using Marketplace.Functions.Events;
using Marketplace.Functions.Webhooks.Delivering;
using Marketplace.Functions.Webhooks.Reading;
using Marketplace.Functions.Webhooks.Subscribing;
using Marketplace.Webhooks;
using Marten;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Marketplace.Functions.Webhooks;

public static class WebhookServices
{
    /// <summary>The subscription events: a stream of their own, CloudEvents of their own, and transparency-log leaves.</summary>
    public static readonly IReadOnlyList<Type> EventTypes = [typeof(WebhookCreated), typeof(WebhookUpdated), typeof(WebhookRemoved), typeof(WebhookDisabled)];

    // Once per process, before any host registers (and so before any store builds its projections): the mapping and
    // the log's list are process-wide, read by every host, and must be the same in all of them.
    static WebhookServices()
    {
        RegisterCloudEvents();
        Transparency.TransparencyLogProjection.LoggedTypes.AddRange(EventTypes);
    }

    /// <summary>
    /// Webhooks: the subscription events and their CloudEvents types, the inline subscription snapshot, the endpoint
    /// documents and the deliveries table, the outbox subscription, the sender with its SSRF guard, and the dispatcher
    /// (a hosted service where the daemon runs in-process, unless <c>Webhooks:Dispatcher</c> says otherwise).
    /// </summary>
    public static IServiceCollection AddWebhooks(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<WebhookOptions>().Bind(configuration.GetSection(WebhookOptions.Section)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<WebhookOptions>, WebhookOptionsValidation>());
        services.AddSingleton(sp => sp.GetRequiredService<IOptions<WebhookOptions>>().Value);
        services.TryAddSingleton<IWebhookDns, SystemWebhookDns>();
        services.AddSingleton<WebhookConnector>();
        services.AddSingleton<WebhookSender>();
        services.AddSingleton<WebhookDispatchSignal>();
        services.AddSingleton<WebhookDeliveries>();
        services.AddSingleton<WebhookDispatcher>();
        services.AddSingleton<WebhookCommands>();
        services.AddSingleton<WebhookOutbox>();
        services.ConfigureMarten((sp, o) =>
        {
            o.Events.AddEventTypes(EventTypes);
            o.Projections.Add<WebhookStateProjection>(ProjectionLifecycle.Inline);
            o.Schema.For<WebhookState>().Index(s => s.KeyId);
            o.Schema.For<WebhookEndpoint>();
            o.Schema.For<WebhookRoute>();
            o.Storage.ExtendedSchemaObjects.Add(WebhookDeliveryTable.Define(o.DatabaseSchemaName));
            o.Storage.ExtendedSchemaObjects.Add(WebhookDeliveryTable.DefineLeases(o.DatabaseSchemaName));
            o.Storage.ExtendedSchemaObjects.Add(WebhookKeySlots.Define(o.DatabaseSchemaName));
            o.Projections.Subscribe(sp.GetRequiredService<WebhookOutbox>());
        });
        var inProcess = configuration.GetValue<bool?>("Webhooks:Dispatcher")
            ?? Infrastructure.EventStore.RunsDaemon(configuration);
        if (inProcess)
            services.AddHostedService<WebhookDispatchService>();
        return services;
    }

    public static IEndpointRouteBuilder MapWebhooks(this IEndpointRouteBuilder app)
    {
        app.MapSubscribing();
        app.MapWebhookReads();
        return app;
    }

    /// <summary>Subscription events in the one CloudEvents mapping: source <c>/webhooks/{id}</c>.</summary>
    private static void RegisterCloudEvents()
    {
        RegistryCloudEvents.Register<WebhookCreated>("dev.marketplace.webhook.created", e => Source(e), _ => null);
        RegistryCloudEvents.Register<WebhookUpdated>("dev.marketplace.webhook.updated", e => Source(e), _ => null);
        RegistryCloudEvents.Register<WebhookRemoved>("dev.marketplace.webhook.removed", e => Source(e), _ => null);
        RegistryCloudEvents.Register<WebhookDisabled>("dev.marketplace.webhook.disabled", e => Source(e), _ => null);
    }

    private static string Source(IWebhookEvent e) => "/webhooks/" + e.SubscriptionId.ToString("D");
}
