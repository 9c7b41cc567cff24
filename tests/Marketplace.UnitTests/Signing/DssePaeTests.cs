using System.Text;
using Marketplace.Signing;

namespace Marketplace.UnitTests.Signing;

/// <summary>
/// Known answers for DSSE's Pre-Authentication Encoding, written out by hand: the expected bytes are literals,
/// never computed with the code under test.
/// </summary>
public class DssePaeTests
{
    [Fact]
    public void pae_of_the_dsse_hello_world_example_is_the_known_answer()
    {
        // "http://example.com/HelloWorld": "http://" (7) + "example.com" (11) + "/HelloWorld" (11) = 29 bytes.
        // "hello world" = 11 bytes.
        var pae = Dsse.Pae("http://example.com/HelloWorld", "hello world"u8);

        Assert.Equal("DSSEv1 29 http://example.com/HelloWorld 11 hello world"u8.ToArray(), pae);
    }

    [Fact]
    public void pae_of_the_hello_world_example_spelled_out_byte_by_byte()
    {
        var pae = Dsse.Pae("http://example.com/HelloWorld", "hello world"u8);

        byte[] expected =
        [
            0x44, 0x53, 0x53, 0x45, 0x76, 0x31, 0x20,                   // "DSSEv1 "
            0x32, 0x39, 0x20,                                           // "29 "
            0x68, 0x74, 0x74, 0x70, 0x3A, 0x2F, 0x2F,                   // "http://"
            0x65, 0x78, 0x61, 0x6D, 0x70, 0x6C, 0x65, 0x2E, 0x63, 0x6F, 0x6D, // "example.com"
            0x2F, 0x48, 0x65, 0x6C, 0x6C, 0x6F, 0x57, 0x6F, 0x72, 0x6C, 0x64, // "/HelloWorld"
            0x20, 0x31, 0x31, 0x20,                                     // " 11 "
            0x68, 0x65, 0x6C, 0x6C, 0x6F, 0x20, 0x77, 0x6F, 0x72, 0x6C, 0x64, // "hello world"
        ];
        Assert.Equal(expected, pae);
    }

    [Fact]
    public void pae_lengths_are_utf8_byte_counts_not_char_counts()
    {
        // payloadType "application/vnd.marketplace.publish.v1+json":
        //   "application" 11, "/" 1, "vnd" 3, "." 1, "marketplace" 11, "." 1, "publish" 7, "." 1, "v1" 2, "+json" 5 = 43.
        // payload {"name":"café"}: 15 chars but 16 bytes, 'é' being C3 A9 in UTF-8.
        byte[] payload = [.. "{\"name\":\"caf"u8, 0xC3, 0xA9, .. "\"}"u8];
        Assert.Equal(16, payload.Length);

        var pae = Dsse.Pae("application/vnd.marketplace.publish.v1+json", payload);

        byte[] expected = [.. "DSSEv1 43 application/vnd.marketplace.publish.v1+json 16 {\"name\":\"caf"u8, 0xC3, 0xA9, .. "\"}"u8];
        Assert.Equal(expected, pae);
        Assert.Equal(PayloadTypes.Publish, "application/vnd.marketplace.publish.v1+json");
    }

    [Fact]
    public void pae_counts_four_byte_characters_as_four_bytes()
    {
        // "€" is E2 82 AC (3 bytes), "🚀" is F0 9F 9A 80 (4 bytes): 2 chars + 1 + 3 + 4 = "a€🚀" is 8 bytes.
        byte[] payload = [0x61, 0xE2, 0x82, 0xAC, 0xF0, 0x9F, 0x9A, 0x80];

        var pae = Dsse.Pae("application/vnd.marketplace.yank.v1+json", payload);

        // "application/vnd.marketplace.yank.v1+json" = 43 - "publish" (7) + "yank" (4) = 40 bytes.
        byte[] expected = [.. "DSSEv1 40 application/vnd.marketplace.yank.v1+json 8 a"u8, 0xE2, 0x82, 0xAC, 0xF0, 0x9F, 0x9A, 0x80];
        Assert.Equal(expected, pae);
    }

    [Fact]
    public void pae_of_an_empty_type_and_payload_keeps_every_separator()
    {
        Assert.Equal("DSSEv1 0  0 "u8.ToArray(), Dsse.Pae("", ReadOnlySpan<byte>.Empty));
    }

    [Fact]
    public void pae_of_a_multi_byte_payload_type_counts_its_bytes()
    {
        // "tÿpe": 't' 1, 'ÿ' (C3 BF) 2, 'p' 1, 'e' 1 = 5 bytes.
        var pae = Dsse.Pae("t\u00FFpe", "x"u8);

        byte[] expected = [.. "DSSEv1 5 t"u8, 0xC3, 0xBF, .. "pe 1 x"u8];
        Assert.Equal(expected, pae);
    }

    [Fact]
    public void pae_lengths_are_plain_decimal_for_larger_payloads()
    {
        var payload = new byte[1234];
        Array.Fill(payload, (byte)'z');

        var pae = Dsse.Pae("t", payload);

        var prefix = "DSSEv1 1 t 1234 "u8.ToArray();
        Assert.Equal(prefix.Length + 1234, pae.Length);
        Assert.Equal(prefix, pae[..prefix.Length]);
        Assert.All(pae[prefix.Length..], b => Assert.Equal((byte)'z', b));
        Assert.Equal("DSSEv1 1 t 1234 zzz", Encoding.ASCII.GetString(pae, 0, prefix.Length + 3));
    }
}
