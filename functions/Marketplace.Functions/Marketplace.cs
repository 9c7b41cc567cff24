using Marketplace.Functions.Blobs;
using Marketplace.Functions.Infrastructure;
using Marketplace.Functions.Observability;
using Marketplace.Functions.Packages;
using Marketplace.Functions.Packages.Downloading;
using Marketplace.Functions.Packages.Owners;
using Marketplace.Functions.Packages.Publishing;
using Marketplace.Functions.Packages.Reading;
using Marketplace.Functions.Packages.Uploading;
using Marketplace.Functions.Packages.Yanking;
using Marketplace.Functions.Protection;
using Marketplace.Functions.Registry;
using Marketplace.Functions.Search;
using Marketplace.Functions.Audit;
using Marketplace.Functions.Transparency;
using Marketplace.Functions.Serverless;
using Marketplace.Functions.Web;

namespace Marketplace.Functions;

/// <summary>Registration and mapping of every feature, so Program.cs stays a list.</summary>
public static class MarketplaceApp
{
    public static IServiceCollection AddMarketplace(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton(TimeProvider.System);
        services.AddMarketplaceProblems();
        services.AddObservability(configuration);
        services.AddProtection(configuration);
        services.AddOpenApi();
        services.AddMemoryCache(o => o.SizeLimit = configuration.GetValue("Reads:CacheBytes", 64L * 1024 * 1024));
        services.AddSingleton(configuration.GetSection("Limits").Get<Limits>() ?? new Limits());
        services.AddSingleton(configuration.GetSection("Reads").Get<ReadOptions>() ?? new ReadOptions());
        services.AddSingleton(configuration.GetSection("Downloads").Get<DownloadOptions>() ?? new DownloadOptions());
        services.AddSingleton<RegistryKey>();
        services.AddHostedService<RegistryKeyCheck>();
        services.AddSingleton<PublicUrls>();
        services.AddEventStore(configuration);
        services.AddBlobStore(configuration);
        services.AddSingleton<EventWrites>();
        services.AddSingleton<PackageCommands>();
        services.AddSingleton<DownloadCounts>();
        services.AddSingleton<ReadModels>();
        services.AddSingleton<ReadCacheInvalidation>();
        services.AddSingleton<DownloadRecorder>();
        services.AddHostedService(sp => sp.GetRequiredService<DownloadRecorder>());
        services.AddSingleton<StatementReceiptPruning>();
        services.AddHostedService(sp => sp.GetRequiredService<StatementReceiptPruning>());
        services.AddSearch(configuration);
        Webhooks.WebhookServices.AddWebhooks(services, configuration);
        services.AddSingleton(configuration.GetSection("Transparency").Get<TransparencyOptions>() ?? new TransparencyOptions());
        services.AddSingleton<TransparencyLog>();
        services.AddServerless(configuration);
        TrustedPublishing.TrustedPublishingServices.AddTrustedPublishing(services, configuration);
        services.AddWebPages();
        return services;
    }

    public static WebApplication MapMarketplace(this WebApplication app)
    {
        app.UseObservability();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseCorrelation();
        app.UseProtection();
        app.MapOpenApi();
        app.MapRegistry();
        app.MapMetrics();
        app.MapUploading();
        app.MapPublishing();
        app.MapReading();
        app.MapDownloading();
        app.MapDownloadCounts();
        app.MapYanking();
        app.MapOwners();
        app.MapSearch();
        Webhooks.WebhookServices.MapWebhooks(app);
        app.MapEventFeed();
        app.MapTransparency();
        app.MapLocalBlobs();
        app.MapServerless();
        TrustedPublishing.TrustedPublishingServices.MapTrustedPublishing(app);
        app.MapWebPages();
        return app;
    }
}
