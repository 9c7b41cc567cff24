using System.Diagnostics;

namespace Marketplace.Functions.Infrastructure;

/// <summary>
/// Every request gets a correlation id (the caller's <c>X-Correlation-Id</c> when well-formed, else the trace id),
/// echoed on the answer and written into the metadata of every event the request appends.
/// </summary>
public static class Correlation
{
    public const string Header = "X-Correlation-Id";
    private const string ItemKey = "marketplace.correlation";

    public static string Id(this HttpContext context) => (string)context.Items[ItemKey]!;

    public static IApplicationBuilder UseCorrelation(this IApplicationBuilder app) => app.Use((context, next) =>
    {
        var given = context.Request.Headers[Header].ToString();
        var id = IsWellFormed(given) ? given : Activity.Current?.TraceId.ToString() ?? Guid.CreateVersion7().ToString("n");
        context.Items[ItemKey] = id;
        context.Response.Headers[Header] = id;
        return next(context);
    });

    private static bool IsWellFormed(string s) =>
        s.Length is > 0 and <= 128 && s.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or ':');
}
