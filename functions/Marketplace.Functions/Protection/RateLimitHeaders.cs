using System.Globalization;

namespace Marketplace.Functions.Protection;

/// <summary>
/// The <c>RateLimit-Policy</c> and <c>RateLimit</c> response fields of draft-ietf-httpapi-ratelimit-headers-11 (May
/// 2026; the same syntax as -09 and -10): Structured Field lists of items named by the policy,
/// <c>"publish-address";q=120;w=60</c> and <c>"publish-address";r=119;t=42</c>. A request limited per address and
/// per key carries one item of each policy.
/// </summary>
public static class RateLimitHeaders
{
    public const string Policy = "RateLimit-Policy";
    public const string Limit = "RateLimit";

    /// <param name="replace">The address policy runs first and may run twice for one request (the middleware
    /// retries a refused lease), so it sets the fields; the key policy adds its items to them.</param>
    public static void Write(HttpResponse response, RateLimitState state, bool replace)
    {
        var policy = string.Create(CultureInfo.InvariantCulture, $"\"{state.Policy}\";q={state.Quota};w={(int)state.Window.TotalSeconds}");
        var limit = string.Create(CultureInfo.InvariantCulture, $"\"{state.Policy}\";r={Math.Max(0, state.Remaining)};t={state.ResetSeconds}");
        if (replace)
        {
            response.Headers[Policy] = policy;
            response.Headers[Limit] = limit;
        }
        else
        {
            response.Headers.Append(Policy, policy);
            response.Headers.Append(Limit, limit);
        }
    }

    /// <summary>The 429 answer's error (its <c>Retry-After</c> is set here too).</summary>
    public static DomainError Refuse(HttpResponse response, RateLimitState state)
    {
        response.Headers.RetryAfter = state.ResetSeconds.ToString(CultureInfo.InvariantCulture);
        return new DomainError("rate-limited", StatusCodes.Status429TooManyRequests, "Too many requests",
            $"Policy {state.Policy} allows {state.Quota} requests per {(int)state.Window.TotalSeconds} s; retry in {state.ResetSeconds} s.");
    }
}
