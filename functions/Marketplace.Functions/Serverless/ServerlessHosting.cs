using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Marketplace.Functions.Serverless;

/// <summary>What the same app needs to run as a Lambda (behind the Web Adapter) or an Azure Functions custom handler.</summary>
public static class ServerlessHosting
{
    /// <summary>The port the Azure Functions host expects its custom handler on.</summary>
    public const string AzureCustomHandlerPort = "FUNCTIONS_CUSTOMHANDLER_PORT";

    public static IServiceCollection AddServerless(this IServiceCollection services, IConfiguration configuration)
    {
        StartupTimeline.Mark("services");
        services.AddSingleton(configuration.GetSection("Projections").Get<ProjectionOptions>() ?? new ProjectionOptions());
        services.AddTransient<IStartupFilter, StartupTimelineFilter>();
        // Azure starts the handler with the port in the environment, not in ASPNETCORE_URLS: listen there only.
        if (int.TryParse(configuration[AzureCustomHandlerPort], out var port))
            services.Configure<KestrelServerOptions>(k => k.ListenLocalhost(port));
        return services;
    }

    public static WebApplication MapServerless(this WebApplication app)
    {
        StartupTimeline.Mark("host built");
        app.MapProjectionCatchUp();
        return app;
    }
}
