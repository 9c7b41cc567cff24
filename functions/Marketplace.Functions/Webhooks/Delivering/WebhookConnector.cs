using System.Net;
using System.Net.Sockets;
using Marketplace.Webhooks;

namespace Marketplace.Functions.Webhooks.Delivering;

/// <summary>DNS resolution for outbound webhooks (a port so tests can point a public-looking name at loopback).</summary>
public interface IWebhookDns
{
    Task<IPAddress[]> ResolveAsync(string host, CancellationToken ct);
}

public sealed class SystemWebhookDns : IWebhookDns
{
    public Task<IPAddress[]> ResolveAsync(string host, CancellationToken ct) => Dns.GetHostAddressesAsync(host, ct);
}

/// <summary>A connection refused before it was made: the receiver's host resolves to a non-public address.</summary>
public sealed class WebhookAddressRefusedException(string message) : Exception(message);

/// <summary>
/// The SSRF guard, as the <see cref="SocketsHttpHandler.ConnectCallback"/> of the webhook client: it resolves the
/// host itself, refuses the connection if any address is not public (<see cref="AddressClassifier"/>; IPv4-mapped
/// forms judged as IPv4), then connects to an address it checked — not to whatever a second lookup would return, so
/// DNS rebinding cannot slip a private address in between. TLS and the Host header still use the URL's name. With
/// <c>Webhooks:AllowPrivateNetworks</c> on (local development) every address is allowed.
/// </summary>
public sealed class WebhookConnector(IWebhookDns dns, WebhookOptions options)
{
    public async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken ct)
    {
        // The name without brackets or the root's trailing dot: "127.0.0.1." is that address, not a name to look up.
        var host = context.DnsEndPoint.Host.Trim('[', ']').TrimEnd('.');
        var port = context.DnsEndPoint.Port;
        var addresses = IPAddress.TryParse(host, out var literal) ? [literal] : await dns.ResolveAsync(host, ct);
        if (addresses.Length == 0)
            throw new WebhookAddressRefusedException($"{host} has no address.");
        addresses = [.. addresses.Select(a => a.IsIPv4MappedToIPv6 ? a.MapToIPv4() : a)];
        if (!options.AllowPrivateNetworks)
        {
            foreach (var address in addresses)
            {
                var kind = AddressClassifier.Classify(address);
                if (kind != AddressKind.Public)
                    throw new WebhookAddressRefusedException(
                        $"refused: {host} resolves to {address} ({AddressClassifier.Describe(kind)}); webhooks go to public addresses only.");
            }
        }

        Exception? last = null;
        foreach (var address in addresses)
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(new IPEndPoint(address, port), ct);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch (SocketException e)
            {
                socket.Dispose();
                last = e;
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }
        throw last!;
    }
}
