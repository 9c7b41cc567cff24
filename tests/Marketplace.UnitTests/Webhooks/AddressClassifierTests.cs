using System.Net;
using Marketplace.Webhooks;

namespace Marketplace.UnitTests.Webhooks;

public sealed class AddressClassifierTests
{
    [Theory]
    [InlineData("127.0.0.1", AddressKind.Loopback)]
    [InlineData("127.255.255.254", AddressKind.Loopback)]
    [InlineData("::1", AddressKind.Loopback)]
    [InlineData("::ffff:127.0.0.1", AddressKind.Loopback)]
    [InlineData("0.0.0.0", AddressKind.Unspecified)]
    [InlineData("0.1.2.3", AddressKind.Unspecified)]
    [InlineData("::", AddressKind.Unspecified)]
    [InlineData("10.0.0.1", AddressKind.Private)]
    [InlineData("10.255.255.255", AddressKind.Private)]
    [InlineData("172.16.0.1", AddressKind.Private)]
    [InlineData("172.31.255.255", AddressKind.Private)]
    [InlineData("192.168.1.1", AddressKind.Private)]
    [InlineData("::ffff:10.1.2.3", AddressKind.Private)]
    [InlineData("::ffff:192.168.0.1", AddressKind.Private)]
    [InlineData("fc00::1", AddressKind.Private)]
    [InlineData("fd00:ec2::254", AddressKind.Private)]
    [InlineData("fec0::1", AddressKind.Private)]
    [InlineData("169.254.169.254", AddressKind.LinkLocal)]
    [InlineData("169.254.170.2", AddressKind.LinkLocal)]
    [InlineData("::ffff:169.254.169.254", AddressKind.LinkLocal)]
    [InlineData("fe80::1", AddressKind.LinkLocal)]
    [InlineData("febf::1", AddressKind.LinkLocal)]
    [InlineData("100.64.0.1", AddressKind.SharedAddressSpace)]
    [InlineData("100.127.255.255", AddressKind.SharedAddressSpace)]
    [InlineData("224.0.0.1", AddressKind.Multicast)]
    [InlineData("239.255.255.250", AddressKind.Multicast)]
    [InlineData("ff02::1", AddressKind.Multicast)]
    [InlineData("240.0.0.1", AddressKind.Reserved)]
    [InlineData("255.255.255.255", AddressKind.Reserved)]
    [InlineData("192.0.0.8", AddressKind.Reserved)]
    [InlineData("::2", AddressKind.Reserved)]
    [InlineData("::7f00:1", AddressKind.Reserved)]
    [InlineData("100::1", AddressKind.Reserved)]
    [InlineData("2001:10::1", AddressKind.Reserved)]
    [InlineData("192.0.2.1", AddressKind.Documentation)]
    [InlineData("198.51.100.7", AddressKind.Documentation)]
    [InlineData("203.0.113.9", AddressKind.Documentation)]
    [InlineData("2001:db8::1", AddressKind.Documentation)]
    [InlineData("198.18.0.1", AddressKind.Benchmarking)]
    [InlineData("198.19.255.255", AddressKind.Benchmarking)]
    [InlineData("2001:2::1", AddressKind.Benchmarking)]
    [InlineData("64:ff9b::7f00:1", AddressKind.Translation)]
    [InlineData("64:ff9b:1::1", AddressKind.Translation)]
    [InlineData("2001::1", AddressKind.Translation)]
    [InlineData("2002:7f00:1::1", AddressKind.Translation)]
    [InlineData("192.88.99.1", AddressKind.Translation)]
    [InlineData("8.8.8.8", AddressKind.Public)]
    [InlineData("1.1.1.1", AddressKind.Public)]
    [InlineData("100.63.255.255", AddressKind.Public)]
    [InlineData("100.128.0.0", AddressKind.Public)]
    [InlineData("172.15.255.255", AddressKind.Public)]
    [InlineData("172.32.0.0", AddressKind.Public)]
    [InlineData("169.253.255.255", AddressKind.Public)]
    [InlineData("192.169.0.1", AddressKind.Public)]
    [InlineData("223.255.255.255", AddressKind.Public)]
    [InlineData("::ffff:8.8.8.8", AddressKind.Public)]
    [InlineData("2606:4700:4700::1111", AddressKind.Public)]
    [InlineData("2001:4860:4860::8888", AddressKind.Public)]
    public void every_address_is_classified_by_its_special_purpose_range(string text, AddressKind expected)
    {
        var address = IPAddress.Parse(text);
        Assert.Equal(expected, AddressClassifier.Classify(address));
        Assert.Equal(expected == AddressKind.Public, AddressClassifier.IsPublic(address));
    }
}
