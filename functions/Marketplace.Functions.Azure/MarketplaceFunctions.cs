using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace Marketplace.Functions.Azure;

/// <summary>
/// The Function App's functions. <c>Publish</c> and <c>Download</c> are functions of their own (their own
/// invocation metrics, and the routes Bicep names); every other route of the API goes through <c>Api</c>, one
/// catch-all, since each would only hand the request to the same app. All three serve the request through
/// <see cref="MarketplaceApp"/>; <c>Projections</c> is the timer.
/// </summary>
public sealed class MarketplaceFunctions(MarketplaceApp app)
{
    public const string PublishRoute = "v1/packages/{name}/{version}";
    public const string DownloadRoute = "v1/packages/{name}/{version}/download";
    public const string ApiRoute = "{*path}";
    public const string ProjectionsSchedule = "0 */1 * * * *";

    [Function("Publish")]
    public Task<IActionResult> Publish([HttpTrigger(AuthorizationLevel.Anonymous, "put", Route = PublishRoute)] HttpRequest request) =>
        app.ServeAsync(request);

    [Function("Download")]
    public Task<IActionResult> Download([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = DownloadRoute)] HttpRequest request) =>
        app.ServeAsync(request);

    [Function("Api")]
    public Task<IActionResult> Api(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", "head", "post", "put", "delete", Route = ApiRoute)] HttpRequest request) =>
        app.ServeAsync(request);

    /// <summary>Every minute (one instance: timers are singletons): the projections catch-up, then webhook dispatch.</summary>
    [Function("Projections")]
    public Task Projections([TimerTrigger(ProjectionsSchedule)] TimerInfo timer, CancellationToken ct) =>
        app.CatchUpAsync(timer.IsPastDue ? "azure-timer-past-due" : "azure-timer", ct);
}
