using Marketplace.Functions.Events;
using Marketplace.Functions.Webhooks.Delivering;
using Marketplace.Functions.Webhooks.Reading;
using Marketplace.Functions.Webhooks.Subscribing;
using Marketplace.Webhooks;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Marketplace.Functions.Webhooks;

public static class WebhookServices
{
    /// <summary>
    /// Webhooks (the subscription events themselves are declared in the <see cref="EventCatalog"/>; the inline
    /// subscription snapshot, the endpoint documents, the deliveries table and the outbox subscription are registered
    /// with the store's other projections, <see cref="Infrastructure.StoreProjections"/>): the sender
    /// with its SSRF guard, and the dispatcher (a hosted service where the daemon runs in-process, unless
    /// <c>Webhooks:Dispatcher</c> says otherwise).
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
        var inProcess = configuration.GetValue<bool?>("Webhooks:Dispatcher")
            ?? Infrastructure.StoreSettings.In(services, configuration).DaemonInProcess;
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
}
