using System.Net;
using System.Net.Sockets;

namespace Marketplace.Webhooks;

public enum AddressKind
{
    Public,
    Unspecified,
    Loopback,
    Private,
    LinkLocal,
    SharedAddressSpace,
    Multicast,
    Reserved,
    Documentation,
    Benchmarking,
    Translation,
}

/// <summary>
/// Where an IP address points, by the IANA special-purpose registries (RFC 6890 and updates). Webhooks go only to
/// <see cref="AddressKind.Public"/> addresses unless private networks are allowed: everything else is a way into the
/// registry's own network (loopback, RFC 1918, link-local with the cloud metadata services at 169.254.169.254,
/// 169.254.170.2 and fd00:ec2::254, CGNAT) or is not a unicast host at all. IPv4-mapped IPv6 is judged as the IPv4
/// address it carries; IPv6 outside global unicast (2000::/3) and the tunnelling and translation prefixes, which
/// can reach IPv4 hosts indirectly, are refused too.
/// </summary>
public static class AddressClassifier
{
    public static bool IsPublic(IPAddress address) => Classify(address) == AddressKind.Public;

    public static AddressKind Classify(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        return address.AddressFamily switch
        {
            AddressFamily.InterNetwork => ClassifyV4(address.GetAddressBytes()),
            AddressFamily.InterNetworkV6 => ClassifyV6(address.GetAddressBytes()),
            _ => AddressKind.Reserved,
        };
    }

    public static string Describe(AddressKind kind) => kind switch
    {
        AddressKind.Public => "public",
        AddressKind.Unspecified => "unspecified",
        AddressKind.Loopback => "loopback",
        AddressKind.Private => "private network",
        AddressKind.LinkLocal => "link-local, cloud metadata",
        AddressKind.SharedAddressSpace => "carrier-grade NAT",
        AddressKind.Multicast => "multicast",
        AddressKind.Reserved => "reserved",
        AddressKind.Documentation => "documentation",
        AddressKind.Benchmarking => "benchmarking",
        AddressKind.Translation => "IPv4 translation or tunnel",
        _ => kind.ToString(),
    };

    private static AddressKind ClassifyV4(byte[] b) => (b[0], b[1], b[2]) switch
    {
        (0, _, _) => AddressKind.Unspecified,                                  // 0.0.0.0/8 "this network"
        (10, _, _) => AddressKind.Private,                                     // 10/8
        (100, >= 64 and <= 127, _) => AddressKind.SharedAddressSpace,          // 100.64/10
        (127, _, _) => AddressKind.Loopback,                                   // 127/8
        (169, 254, _) => AddressKind.LinkLocal,                                // 169.254/16
        (172, >= 16 and <= 31, _) => AddressKind.Private,                      // 172.16/12
        (192, 0, 0) => AddressKind.Reserved,                                   // 192.0.0/24 IETF protocol assignments
        (192, 0, 2) => AddressKind.Documentation,                              // TEST-NET-1
        (192, 88, 99) => AddressKind.Translation,                              // 6to4 relay anycast
        (192, 168, _) => AddressKind.Private,                                  // 192.168/16
        (198, 18 or 19, _) => AddressKind.Benchmarking,                        // 198.18/15
        (198, 51, 100) => AddressKind.Documentation,                           // TEST-NET-2
        (203, 0, 113) => AddressKind.Documentation,                            // TEST-NET-3
        ( >= 224 and <= 239, _, _) => AddressKind.Multicast,                   // 224/4
        ( >= 240, _, _) => AddressKind.Reserved,                               // 240/4 and 255.255.255.255
        _ => AddressKind.Public,
    };

    private static AddressKind ClassifyV6(byte[] b)
    {
        if (b.AsSpan(0, 15).IndexOfAnyExcept((byte)0) < 0)
            return b[15] switch { 0 => AddressKind.Unspecified, 1 => AddressKind.Loopback, _ => AddressKind.Reserved };
        if (b[0] == 0xff) return AddressKind.Multicast;                         // ff00::/8
        if ((b[0] & 0xfe) == 0xfc) return AddressKind.Private;                 // fc00::/7 unique local (fd00:ec2::254)
        if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return AddressKind.LinkLocal;  // fe80::/10
        if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) return AddressKind.Private;    // fec0::/10 site-local (deprecated)
        if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b) return AddressKind.Translation; // 64:ff9b::/96, 64:ff9b:1::/48
        if ((b[0] & 0xe0) != 0x20) return AddressKind.Reserved;               // outside 2000::/3 global unicast
        if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8) return AddressKind.Documentation; // 2001:db8::/32
        if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x00 && b[3] == 0x00) return AddressKind.Translation;   // 2001::/32 Teredo
        if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x00 && b[3] == 0x02 && b[4] == 0 && b[5] == 0) return AddressKind.Benchmarking; // 2001:2::/48
        if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x00 && b[3] < 0x20) return AddressKind.Reserved;       // rest of 2001::/27 IETF assignments
        if (b[0] == 0x20 && b[1] == 0x02) return AddressKind.Translation;      // 2002::/16 6to4
        if (b[0] == 0x3f && b[1] == 0xff && (b[2] & 0xf0) == 0x00) return AddressKind.Documentation;       // 3fff::/20
        return AddressKind.Public;
    }
}
