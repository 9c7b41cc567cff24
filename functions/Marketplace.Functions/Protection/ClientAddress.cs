using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace Marketplace.Functions.Protection;

/// <summary>
/// Who a request is from, for the per-address limits: an address the platform vouches for, per
/// <c>Protection:ClientAddressSource</c> — the TCP peer; the <c>X-Forwarded-For</c> hop <c>Protection:TrustedProxies</c>
/// from the right (each trusted proxy appends the address it saw, so hops further left are the client's own writing);
/// API Gateway's <c>sourceIp</c> from the request context the Lambda Web Adapter passes (<c>x-amzn-request-context</c>:
/// <c>http.sourceIp</c> for HTTP APIs, <c>identity.sourceIp</c> for REST APIs); or Azure Front Door's
/// <c>X-Azure-ClientIP</c>. When the source is missing the peer is used. IPv6 clients are grouped by /64, the block
/// one host gets.
/// </summary>
public sealed record ClientAddress(string? Partition, bool Exempt)
{
    public const string AwsRequestContextHeader = "x-amzn-request-context";
    public const string AzureClientIpHeader = "X-Azure-ClientIP";

    public static ClientAddress Of(HttpContext context, ProtectionOptions options)
    {
        if (context.Features.Get<ClientAddress>() is { } known) return known;
        var address = Vouched(context.Request.Headers, options) ?? context.Connection.RemoteIpAddress;
        if (address is { IsIPv4MappedToIPv6: true }) address = address.MapToIPv4();
        // No address at all is an in-process host (TestServer): as local as loopback.
        var client = new ClientAddress(address is null ? null : PartitionOf(address),
            options.ExemptLoopback && (address is null || IPAddress.IsLoopback(address)));
        context.Features.Set(client);
        return client;
    }

    /// <summary>The address the configured source gives, or null (then the peer counts).</summary>
    public static IPAddress? Vouched(IHeaderDictionary headers, ProtectionOptions options) => options.ClientAddressSource switch
    {
        ClientAddressSources.ForwardedFor => ForwardedHop(headers["X-Forwarded-For"].ToString(), options.TrustedProxies),
        ClientAddressSources.AwsRequestContext => SourceIpOf(headers[AwsRequestContextHeader].ToString()),
        ClientAddressSources.AzureFrontDoor => Parse(headers[AzureClientIpHeader].ToString().Trim()),
        _ => null,
    };

    /// <summary>Whether the request came over HTTPS, to the app or (when a proxy is trusted) to the proxy.</summary>
    public static bool IsHttps(HttpContext context, ProtectionOptions options) =>
        context.Request.IsHttps
        || (options.ClientAddressSource != ClientAddressSources.Peer && context.Request.Headers["X-Forwarded-Proto"].ToString().Split(',')[^1].Trim()
            .Equals("https", StringComparison.OrdinalIgnoreCase));

    /// <summary>The hop <paramref name="trusted"/> from the right of an <c>X-Forwarded-For</c> list (all its lines joined).</summary>
    public static IPAddress? ForwardedHop(string header, int trusted)
    {
        if (header.Length == 0) return null;
        var hops = header.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        return hops.Length >= trusted ? Parse(hops[^trusted]) : null;
    }

    /// <summary>API Gateway's <c>sourceIp</c> in a request context (HTTP API: <c>http.sourceIp</c>; REST API: <c>identity.sourceIp</c>).</summary>
    public static IPAddress? SourceIpOf(string requestContext)
    {
        if (requestContext.Length is 0 or > 64 * 1024) return null;
        try
        {
            using var json = JsonDocument.Parse(requestContext);
            var root = json.RootElement;
            if (root.ValueKind != JsonValueKind.Object) return null;
            foreach (var holder in new[] { "http", "identity" })
            {
                if (root.TryGetProperty(holder, out var h) && h.ValueKind == JsonValueKind.Object
                    && h.TryGetProperty("sourceIp", out var ip) && ip.ValueKind == JsonValueKind.String)
                    return Parse(ip.GetString()!);
            }
            return null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static IPAddress? Parse(string text)
    {
        if (text.Length == 0) return null;
        // "[2001:db8::1]:443" and "192.0.2.1:80" appear in the wild; IPEndPoint parses both, IPAddress the bare forms.
        if (IPAddress.TryParse(text, out var address)) return address;
        return IPEndPoint.TryParse(text, out var endpoint) ? endpoint.Address : null;
    }

    private static string PartitionOf(IPAddress address)
    {
        if (address.AddressFamily != AddressFamily.InterNetworkV6) return address.ToString();
        var bytes = address.GetAddressBytes();
        Array.Clear(bytes, 8, 8);
        return new IPAddress(bytes) + "/64";
    }
}
