using Marketplace.Functions.Azure;
using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

var builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();
// The marketplace app is built once per worker and started before the first invocation.
var marketplace = await MarketplaceApp.StartAsync(builder.Configuration);
builder.Services.AddSingleton(marketplace);
var host = builder.Build();
await host.RunAsync();
await marketplace.DisposeAsync();
