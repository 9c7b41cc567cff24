using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Marketplace.Functions.Azure;

/// <summary>The worker's entry point (a named class: the Kestrel app's <c>Program</c> is the tests' host type).</summary>
public static class AzureWorker
{
    public static async Task Main(string[] args)
    {
        var builder = FunctionsApplication.CreateBuilder(args);
        builder.ConfigureFunctionsWebApplication();
        // The marketplace app is built once per worker and started before the first invocation.
        var marketplace = await MarketplaceApp.StartAsync(builder.Configuration);
        builder.Services.AddSingleton(marketplace);
        using var host = builder.Build();
        await host.RunAsync();
        await marketplace.DisposeAsync();
    }
}
