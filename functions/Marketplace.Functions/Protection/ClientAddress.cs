using System.Net;
using System.Net.Sockets;

namespace Marketplace.Functions.Protection;

/// <summary>
/// Who a request is from, for the per-address limits: the peer address, or the first <c>X-Forwarded-For</c> hop when
/// <c>Protection:TrustForwardedFor</c> is on (only behind a proxy that sets that header itself: a client can put any
/// address first in a header a proxy merely appends to). IPv6 clients are grouped by /64, the block one host gets.
/// </summary>
public sealed record ClientAddress(string? Partition, bool Exempt)
{
    public static ClientAddress Of(HttpContext context, ProtectionOptions options)
    {
        if (context.Features.Get<ClientAddress>() is { } known) return known;
        var address = context.Connection.RemoteIpAddress;
        if (options.TrustForwardedFor && FirstForwardedHop(context.Request.Headers["X-Forwarded-For"].ToString()) is { } forwarded)
            address = forwarded;
        if (address is { IsIPv4MappedToIPv6: true }) address = address.MapToIPv4();
        // No address at all is an in-process host (TestServer): as local as loopback.
        var client = new ClientAddress(address is null ? null : PartitionOf(address), options.ExemptLoopback && (address is null || IPAddress.IsLoopback(address)));
        context.Features.Set(client);
        return client;
    }

    /// <summary>Whether the request came over HTTPS, to the app or (when forwarded headers are trusted) to the proxy.</summary>
    public static bool IsHttps(HttpContext context, ProtectionOptions options) =>
        context.Request.IsHttps
        || (options.TrustForwardedFor && context.Request.Headers["X-Forwarded-Proto"].ToString().Split(',')[0].Trim()
            .Equals("https", StringComparison.OrdinalIgnoreCase));

    private static IPAddress? FirstForwardedHop(string header)
    {
        if (header.Length == 0) return null;
        var first = header.Split(',')[0].Trim();
        // "[2001:db8::1]:443" and "192.0.2.1:80" appear in the wild; IPEndPoint parses both, IPAddress the bare forms.
        if (IPAddress.TryParse(first, out var address)) return address;
        return IPEndPoint.TryParse(first, out var endpoint) ? endpoint.Address : null;
    }

    private static string PartitionOf(IPAddress address)
    {
        if (address.AddressFamily != AddressFamily.InterNetworkV6) return address.ToString();
        var bytes = address.GetAddressBytes();
        Array.Clear(bytes, 8, 8);
        return new IPAddress(bytes) + "/64";
    }
}
