namespace Marketplace.Functions.Serverless;

/// <summary>What the same app needs to run as a Lambda (behind the Web Adapter) or inside the Azure Functions worker
/// (functions/Marketplace.Functions.Azure).</summary>
public static class ServerlessHosting
{
    public static IServiceCollection AddServerless(this IServiceCollection services, IConfiguration configuration)
    {
        StartupTimeline.Mark("services");
        services.AddSingleton(configuration.GetSection("Projections").Get<ProjectionOptions>() ?? new ProjectionOptions());
        services.AddTransient<IStartupFilter, StartupTimelineFilter>();
        return services;
    }

    public static WebApplication MapServerless(this WebApplication app)
    {
        StartupTimeline.Mark("host built");
        app.MapProjectionCatchUp();
        return app;
    }
}
