using System.Globalization;
using Marketplace.Functions.Infrastructure;
using Marketplace.Functions.Packages;
using Microsoft.AspNetCore.Http.Timeouts;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Marketplace.Functions.Protection;

/// <summary>
/// Rate limits (per client address in the middleware, per owner key in the signed endpoints), security headers on
/// every answer, and per-route request timeouts. Body size caps are per route already (<see cref="Limits"/> read by
/// <see cref="BoundedJson"/>; the local blob upload sets its signed size); Kestrel's server-wide cap only has to be
/// at least the largest of them, which is checked at startup.
/// </summary>
public static class ProtectionServices
{
    /// <summary>The rate limiters' clock, a keyed service so tests can move it without moving the app's.</summary>
    public const string ClockKey = "protection";

    /// <summary>Request timeout policies (<c>.WithRequestTimeout(name)</c>); every other route gets the default.</summary>
    public const string PublishTimeout = "publish";

    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(15);

    /// <summary>A publish reads up to 6 MB from the client and may move an uploaded blob of up to 512 MiB.</summary>
    public static readonly TimeSpan PublishTimeoutValue = TimeSpan.FromMinutes(2);

    public static IServiceCollection AddProtection(this IServiceCollection services, IConfiguration configuration)
    {
        var options = ProtectionOptions.From(configuration);
        services.AddSingleton(options);
        services.TryAddKeyedSingleton(ClockKey, (sp, _) => sp.GetRequiredService<TimeProvider>());
        services.AddSingleton<AddressRateLimiter>();
        services.AddSingleton<KeyRateLimiter>();
        services.AddSingleton<RateLimitReconciler>();
        services.AddHostedService(sp => sp.GetRequiredService<RateLimitReconciler>());
        services.AddRateLimiter(_ => { });
        services.AddOptions<RateLimiterOptions>().Configure<AddressRateLimiter>((o, limiter) =>
        {
            o.GlobalLimiter = limiter;
            o.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            o.OnRejected = (context, _) =>
            {
                var response = context.HttpContext.Response;
                var refusal = context.Lease is WindowLease { State: { } state }
                    ? RateLimitHeaders.Refuse(response, state)
                    : new DomainError("rate-limited", StatusCodes.Status429TooManyRequests, "Too many requests", "Retry later.");
                return new ValueTask(refusal.ToProblem().ExecuteAsync(context.HttpContext));
            };
        });

        services.AddRequestTimeouts(o =>
        {
            o.DefaultPolicy = new RequestTimeoutPolicy { Timeout = DefaultTimeout };
            o.AddPolicy(PublishTimeout, PublishTimeoutValue);
        });

        services.AddOptions<KestrelServerOptions>()
            .Validate<Limits>(
                (kestrel, limits) => kestrel.Limits.MaxRequestBodySize is null || kestrel.Limits.MaxRequestBodySize >= limits.MaxPublishRequestBytes,
                "Kestrel:Limits:MaxRequestBodySize is below Limits:MaxPublishRequestBytes; routes cap their own bodies, "
                + "so the server-wide cap must be at least the largest route cap.")
            .ValidateOnStart();
        return services;
    }

    /// <summary>Security headers, request timeouts and the rate limiter, in that order (after routing).</summary>
    public static IApplicationBuilder UseProtection(this IApplicationBuilder app)
    {
        var options = app.ApplicationServices.GetRequiredService<ProtectionOptions>();
        app.Use((context, next) =>
        {
            // At response start, so answers made after a reset (the exception handler's 500) carry them too.
            context.Response.OnStarting(() =>
            {
                var headers = context.Response.Headers;
                headers.XContentTypeOptions = "nosniff";
                headers["Referrer-Policy"] = "no-referrer";
                headers.XFrameOptions = "DENY";
                // The web pages set their own (still strict) policy; every other answer gets the strictest.
                if (string.IsNullOrEmpty(headers.ContentSecurityPolicy))
                    headers.ContentSecurityPolicy = "default-src 'none'; frame-ancestors 'none'";
                headers["Cross-Origin-Resource-Policy"] = "same-origin";
                if (ClientAddress.IsHttps(context, options))
                    headers.StrictTransportSecurity = string.Create(CultureInfo.InvariantCulture, $"max-age={365 * 24 * 3600}; includeSubDomains");
                return Task.CompletedTask;
            });
            return next(context);
        });
        app.UseRequestTimeouts();
        app.UseRateLimiter();
        return app;
    }
}
