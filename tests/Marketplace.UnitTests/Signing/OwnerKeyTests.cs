using System.Security.Cryptography;
using Marketplace.Signing;
using NSec.Cryptography;

namespace Marketplace.UnitTests.Signing;

public class OwnerKeyTests
{
    // RFC 8032 section 7.1, TEST 1 (empty message).
    internal const string Rfc8032Test1Secret = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
    internal const string Rfc8032Test1Public = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
    private const string Rfc8032Test1Signature =
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";

    // RFC 8032 section 7.1, TEST 2 (one byte, 0x72).
    private const string Rfc8032Test2Public = "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c";
    private const string Rfc8032Test2Signature =
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00";

    private static string Base64Of(string hex) => Convert.ToBase64String(Convert.FromHexString(hex));

    [Fact]
    public void key_id_is_ed25519_and_the_first_16_bytes_of_the_sha256_of_the_raw_key_in_lowercase_hex()
    {
        var raw = Convert.FromHexString(Rfc8032Test1Public);
        var expected = "ed25519:" + Convert.ToHexString(SHA256.HashData(raw), 0, 16).ToLowerInvariant();

        var key = Parse(Convert.ToBase64String(raw));

        Assert.Equal(expected, key.KeyId);
        Assert.Equal(expected, OwnerKey.KeyIdOf(raw));
        // Computed independently: printf d75a…511a | xxd -r -p | sha256sum | cut -c1-32
        Assert.Equal("ed25519:21fe31dfa154a261626bf854046fd227", key.KeyId);
        Assert.Equal(8 + 32, key.KeyId.Length);
    }

    [Fact]
    public void parse_keeps_the_raw_key_as_standard_base64()
    {
        var key = Parse("11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");

        Assert.Equal("11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=", key.PublicKey);
        Assert.Equal(Convert.FromHexString(Rfc8032Test1Public), Convert.FromBase64String(key.PublicKey));
    }

    [Fact]
    public void the_signer_derived_from_the_rfc_8032_secret_has_the_rfc_8032_public_key()
    {
        using var key = Key.Import(SignatureAlgorithm.Ed25519, Convert.FromHexString(Rfc8032Test1Secret), KeyBlobFormat.RawPrivateKey);
        using var signer = new StatementSigner(key);

        Assert.Equal(Base64Of(Rfc8032Test1Public), signer.Owner.PublicKey);
        Assert.Equal("ed25519:21fe31dfa154a261626bf854046fd227", signer.Owner.KeyId);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("not base64!")]
    [InlineData("@@@@")]
    [InlineData("11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo")]  // padding missing: not standard base64
    [InlineData("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo=")] // URL-safe alphabet
    [InlineData("ZWQyNTUxOTo=")]                                  // 8 bytes
    public void malformed_keys_are_invalid_key(string? base64) => AssertInvalidKey(base64);

    [Theory]
    [InlineData(31)]
    [InlineData(33)]
    [InlineData(1)]
    [InlineData(64)]
    [InlineData(48)]
    public void keys_that_are_not_32_bytes_are_invalid_key(int length)
    {
        var bytes = new byte[length];
        for (var i = 0; i < length; i++) bytes[i] = (byte)(i + 1);
        AssertInvalidKey(Convert.ToBase64String(bytes));
    }

    [Fact]
    public void an_over_long_base64_string_is_invalid_key() => AssertInvalidKey(new string('A', 100));

    [Fact]
    public void the_rfc_8032_test_1_signature_of_the_empty_message_verifies()
    {
        var key = Parse(Base64Of(Rfc8032Test1Public));

        Assert.True(key.Verify(ReadOnlySpan<byte>.Empty, Convert.FromHexString(Rfc8032Test1Signature)));
    }

    [Fact]
    public void the_rfc_8032_test_2_signature_verifies_over_its_one_byte_message()
    {
        var key = Parse(Base64Of(Rfc8032Test2Public));

        Assert.True(key.Verify([0x72], Convert.FromHexString(Rfc8032Test2Signature)));
        Assert.False(key.Verify([0x73], Convert.FromHexString(Rfc8032Test2Signature)));
        Assert.False(key.Verify(ReadOnlySpan<byte>.Empty, Convert.FromHexString(Rfc8032Test2Signature)));
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(0, 7)]
    [InlineData(17, 3)]
    [InlineData(31, 0)]
    [InlineData(32, 0)]
    [InlineData(45, 5)]
    [InlineData(63, 4)]
    public void a_signature_with_one_flipped_bit_does_not_verify(int index, int bit)
    {
        var key = Parse(Base64Of(Rfc8032Test1Public));
        var signature = Convert.FromHexString(Rfc8032Test1Signature);
        signature[index] ^= (byte)(1 << bit);

        Assert.False(key.Verify(ReadOnlySpan<byte>.Empty, signature));
    }

    [Fact]
    public void the_rfc_8032_test_1_signature_does_not_verify_under_another_key_or_message()
    {
        var other = Parse(Base64Of(Rfc8032Test2Public));
        var key = Parse(Base64Of(Rfc8032Test1Public));
        var signature = Convert.FromHexString(Rfc8032Test1Signature);

        Assert.False(other.Verify(ReadOnlySpan<byte>.Empty, signature));
        Assert.False(key.Verify([0x00], signature));
    }

    [Fact]
    public void a_signature_of_the_wrong_length_does_not_verify()
    {
        var key = Parse(Base64Of(Rfc8032Test1Public));
        var signature = Convert.FromHexString(Rfc8032Test1Signature);

        Assert.False(key.Verify(ReadOnlySpan<byte>.Empty, signature.AsSpan(0, 63)));
        Assert.False(key.Verify(ReadOnlySpan<byte>.Empty, [.. signature, 0]));
        Assert.False(key.Verify(ReadOnlySpan<byte>.Empty, ReadOnlySpan<byte>.Empty));
    }

    private static OwnerKey Parse(string base64)
    {
        var outcome = OwnerKey.Parse(base64);
        Assert.Null(outcome.Error);
        return outcome.Value!;
    }

    private static void AssertInvalidKey(string? base64)
    {
        var outcome = OwnerKey.Parse(base64);
        Assert.True(outcome.IsError, $"'{base64}' was accepted");
        Assert.Equal("invalid-key", outcome.Error!.Code);
        Assert.Equal(400, outcome.Error.Status);
    }
}
