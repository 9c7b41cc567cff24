using System.Security.Cryptography;
using System.Text;
using Marketplace.Packages;
using Marketplace.Signing;

namespace Marketplace.UnitTests.Signing;

public sealed class StatementVerifierTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2025, 6, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly string Sha = new('a', 64);

    private readonly StatementSigner _signer = StatementSigner.Generate();
    private readonly StatementSigner _other = StatementSigner.Generate();

    public void Dispose()
    {
        _signer.Dispose();
        _other.Dispose();
    }

    private static PublishStatement Statement(DateTimeOffset issuedAt, string description = "A package") =>
        new("left-pad", "1.0.0", Sha, 1234, new PackageManifest(Description: description, License: "MIT"), issuedAt);

    private static Outcome<VerifiedStatement<PublishStatement>> Verify(DsseEnvelope? envelope, string? publicKey) =>
        StatementVerifier.Verify<PublishStatement>(envelope, publicKey, PayloadTypes.Publish, Now);

    private Outcome<VerifiedStatement<PublishStatement>> VerifyRaw(string json) =>
        Verify(_signer.SignBytes(PayloadTypes.Publish, Encoding.UTF8.GetBytes(json)), _signer.Owner.PublicKey);

    private static void AssertError(string code, Outcome<VerifiedStatement<PublishStatement>> outcome)
    {
        Assert.True(outcome.IsError, "the envelope was accepted");
        Assert.Equal(code, outcome.Error!.Code);
    }

    private static string Json(string issuedAt = "2025-06-01T11:59:00Z", string? extra = null) =>
        $$"""{"name":"left-pad","version":"1.0.0","sha256":"{{Sha}}","size":1234,"manifest":{"license":"MIT"},"issuedAt":"{{issuedAt}}"{{extra}}}""";

    [Fact]
    public void a_publish_statement_signed_by_the_statement_signer_verifies()
    {
        var statement = Statement(Now.AddMinutes(-1));
        var envelope = _signer.Sign(PayloadTypes.Publish, statement);

        var outcome = Verify(envelope, _signer.Owner.PublicKey);

        Assert.Null(outcome.Error);
        var verified = outcome.Value!;
        Assert.Equal(statement.Name, verified.Statement.Name);
        Assert.Equal(statement.Version, verified.Statement.Version);
        Assert.Equal(statement.Sha256, verified.Statement.Sha256);
        Assert.Equal(statement.Size, verified.Statement.Size);
        Assert.Equal(statement.Manifest, verified.Statement.Manifest);
        Assert.Equal(statement.IssuedAt, verified.Statement.IssuedAt);
        Assert.Equal(_signer.Owner, verified.Signer);
        Assert.Same(envelope, verified.Envelope);
        Assert.Equal(PayloadTypes.Publish, envelope.PayloadType);
        Assert.Equal(_signer.Owner.KeyId, Assert.Single(envelope.Signatures).KeyId);
    }

    [Fact]
    public void the_statement_id_is_the_sha256_of_the_pae()
    {
        var envelope = _signer.Sign(PayloadTypes.Publish, Statement(Now));
        var payload = Convert.FromBase64String(envelope.Payload);
        byte[] pae = [.. "DSSEv1 43 application/vnd.marketplace.publish.v1+json "u8, .. Encoding.ASCII.GetBytes($"{payload.Length} "), .. payload];

        var id = Verify(envelope, _signer.Owner.PublicKey).Value!.StatementId;

        Assert.Equal(Convert.ToHexString(SHA256.HashData(pae)).ToLowerInvariant(), id);
    }

    [Fact]
    public void the_statement_id_is_stable_for_one_envelope_and_differs_for_another_payload()
    {
        var envelope = _signer.Sign(PayloadTypes.Publish, Statement(Now));
        var again = _signer.Sign(PayloadTypes.Publish, Statement(Now));
        var different = _signer.Sign(PayloadTypes.Publish, Statement(Now, description: "Another"));

        var first = Verify(envelope, _signer.Owner.PublicKey).Value!.StatementId;
        var second = Verify(envelope, _signer.Owner.PublicKey).Value!.StatementId;
        var resigned = Verify(again, _signer.Owner.PublicKey).Value!.StatementId;
        var other = Verify(different, _signer.Owner.PublicKey).Value!.StatementId;

        Assert.Equal(first, second);
        Assert.Equal(first, resigned);
        Assert.NotEqual(first, other);
        Assert.Matches("^[0-9a-f]{64}$", first);
    }

    [Fact]
    public void the_statement_id_does_not_depend_on_the_base64_alphabet()
    {
        // One signed statement must have one identity, or a replay re-encoded in URL-safe base64 would pass.
        var envelope = SignWithPlusOrSlash();
        var urlSafe = envelope with { Payload = envelope.Payload.Replace('+', '-').Replace('/', '_') };

        var standardId = Verify(envelope, _signer.Owner.PublicKey).Value!.StatementId;
        var urlSafeId = Verify(urlSafe, _signer.Owner.PublicKey).Value!.StatementId;

        Assert.Equal(standardId, urlSafeId);
    }

    [Fact]
    public void a_wrong_payload_type_is_invalid_envelope()
    {
        var envelope = _signer.Sign(PayloadTypes.Yank, new YankStatement("yank", "left-pad", "1.0.0", null, Now));

        AssertError("invalid-envelope", Verify(envelope, _signer.Owner.PublicKey));
    }

    [Fact]
    public void a_payload_type_changed_after_signing_is_invalid_envelope()
    {
        var envelope = _signer.Sign(PayloadTypes.Publish, Statement(Now)) with { PayloadType = PayloadTypes.Yank };

        AssertError("invalid-envelope", Verify(envelope, _signer.Owner.PublicKey));
    }

    [Fact]
    public void a_payload_type_differing_in_case_is_invalid_envelope()
    {
        var envelope = _signer.Sign(PayloadTypes.Publish.ToUpperInvariant(), Statement(Now));

        AssertError("invalid-envelope", Verify(envelope, _signer.Owner.PublicKey));
    }

    [Fact]
    public void a_signature_by_another_key_is_bad_signature()
    {
        var envelope = _other.Sign(PayloadTypes.Publish, Statement(Now));

        AssertError("bad-signature", Verify(envelope, _signer.Owner.PublicKey));
    }

    [Fact]
    public void a_signature_by_another_key_labelled_with_the_claimed_key_id_is_bad_signature()
    {
        var envelope = _other.Sign(PayloadTypes.Publish, Statement(Now));
        envelope = envelope with { Signatures = [envelope.Signatures[0] with { KeyId = _signer.Owner.KeyId }] };

        AssertError("bad-signature", Verify(envelope, _signer.Owner.PublicKey));
    }

    [Fact]
    public void a_valid_signature_under_a_mismatched_key_id_is_bad_signature()
    {
        var envelope = _signer.Sign(PayloadTypes.Publish, Statement(Now));
        envelope = envelope with { Signatures = [envelope.Signatures[0] with { KeyId = _other.Owner.KeyId }] };

        AssertError("bad-signature", Verify(envelope, _signer.Owner.PublicKey));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    public void a_signature_without_a_key_id_is_tried_against_the_key(string? keyId)
    {
        var envelope = _signer.Sign(PayloadTypes.Publish, Statement(Now));
        envelope = envelope with { Signatures = [envelope.Signatures[0] with { KeyId = keyId }] };

        Assert.Null(Verify(envelope, _signer.Owner.PublicKey).Error);
    }

    [Fact]
    public void one_good_signature_among_several_is_enough()
    {
        var mine = _signer.Sign(PayloadTypes.Publish, Statement(Now));
        var theirs = _other.Sign(PayloadTypes.Publish, Statement(Now));
        var envelope = mine with { Signatures = [theirs.Signatures[0], mine.Signatures[0]] };

        Assert.Null(Verify(envelope, _signer.Owner.PublicKey).Error);
    }

    [Fact]
    public void a_tampered_payload_is_bad_signature()
    {
        var envelope = _signer.Sign(PayloadTypes.Publish, Statement(Now));
        var json = Encoding.UTF8.GetString(Convert.FromBase64String(envelope.Payload));
        var tampered = json.Replace("\"size\":1234", "\"size\":1235", StringComparison.Ordinal);
        Assert.NotEqual(json, tampered);

        var outcome = Verify(envelope with { Payload = Convert.ToBase64String(Encoding.UTF8.GetBytes(tampered)) }, _signer.Owner.PublicKey);

        AssertError("bad-signature", outcome);
    }

    [Fact]
    public void a_tampered_signature_is_bad_signature()
    {
        var envelope = _signer.Sign(PayloadTypes.Publish, Statement(Now));
        var sig = Convert.FromBase64String(envelope.Signatures[0].Sig);
        sig[10] ^= 0x01;

        var outcome = Verify(envelope with { Signatures = [envelope.Signatures[0] with { Sig = Convert.ToBase64String(sig) }] }, _signer.Owner.PublicKey);

        AssertError("bad-signature", outcome);
    }

    [Theory]
    [InlineData("")]
    [InlineData("not base64!")]
    [InlineData("AAAA")] // 3 bytes, not 64
    public void an_undecodable_or_short_signature_is_bad_signature(string sig)
    {
        var envelope = _signer.Sign(PayloadTypes.Publish, Statement(Now));

        AssertError("bad-signature", Verify(envelope with { Signatures = [new DsseSignature(_signer.Owner.KeyId, sig)] }, _signer.Owner.PublicKey));
    }

    [Fact]
    public void a_statement_six_minutes_old_is_stale()
    {
        var envelope = _signer.Sign(PayloadTypes.Publish, Statement(Now.AddMinutes(-6)));

        AssertError("stale-statement", Verify(envelope, _signer.Owner.PublicKey));
    }

    [Fact]
    public void a_statement_two_minutes_in_the_future_is_stale()
    {
        var envelope = _signer.Sign(PayloadTypes.Publish, Statement(Now.AddMinutes(2)));

        AssertError("stale-statement", Verify(envelope, _signer.Owner.PublicKey));
    }

    [Theory]
    [InlineData(-4 * 60)]
    [InlineData(-5 * 60)]   // exactly five minutes old: still fresh
    [InlineData(0)]
    [InlineData(30)]
    [InlineData(60)]        // exactly one minute ahead: within the skew
    public void statements_within_the_freshness_window_are_accepted(int offsetSeconds)
    {
        var envelope = _signer.Sign(PayloadTypes.Publish, Statement(Now.AddSeconds(offsetSeconds)));

        Assert.Null(Verify(envelope, _signer.Owner.PublicKey).Error);
    }

    [Theory]
    [InlineData(-5 * 60 - 1)]
    [InlineData(61)]
    public void statements_just_outside_the_freshness_window_are_stale(int offsetSeconds)
    {
        var envelope = _signer.Sign(PayloadTypes.Publish, Statement(Now.AddSeconds(offsetSeconds)));

        AssertError("stale-statement", Verify(envelope, _signer.Owner.PublicKey));
    }

    [Fact]
    public void an_issued_at_with_a_non_utc_offset_is_invalid_statement()
    {
        // The same instant as one minute ago, written in +02:00 (raw JSON: the signer itself always writes Z).
        AssertError("invalid-statement", VerifyRaw(Json("2025-06-01T13:59:00+02:00")));
    }

    [Fact]
    public void an_issued_at_in_utc_written_with_z_is_accepted()
    {
        Assert.Null(VerifyRaw(Json("2025-06-01T11:59:00Z")).Error);
        Assert.Null(VerifyRaw(Json("2025-06-01T11:59:00.123Z")).Error);
    }

    [Fact]
    public void an_issued_at_without_an_offset_is_invalid_statement()
    {
        AssertError("invalid-statement", VerifyRaw(Json("2025-06-01T11:59:00")));
    }

    [Fact]
    public void a_duplicate_json_property_is_invalid_statement()
    {
        var json = Json(extra: ",\"size\":99");

        AssertError("invalid-statement", VerifyRaw(json));
    }

    [Fact]
    public void a_duplicate_name_property_is_invalid_statement()
    {
        var json = """{"name":"left-pad","name":"evil","version":"1.0.0","sha256":"SHA","size":1,"manifest":{},"issuedAt":"2025-06-01T11:59:00Z"}""".Replace("SHA", Sha, StringComparison.Ordinal);

        AssertError("invalid-statement", VerifyRaw(json));
    }

    [Fact]
    public void a_duplicate_property_differing_only_in_case_is_invalid_statement()
    {
        // Web defaults bind case-insensitively: "Name" and "name" land on one property, which a case-sensitive
        // reader of the same signed bytes would see as two. Either way the payload is ambiguous.
        var json = Json(extra: ",\"Name\":\"evil\"");

        AssertError("invalid-statement", VerifyRaw(json));
    }

    [Fact]
    public void a_duplicate_property_inside_the_manifest_is_invalid_statement()
    {
        var json = Json().Replace("{\"license\":\"MIT\"}", "{\"license\":\"MIT\",\"license\":\"GPL-3.0\"}", StringComparison.Ordinal);

        AssertError("invalid-statement", VerifyRaw(json));
    }

    [Theory]
    [InlineData("name")]
    [InlineData("version")]
    [InlineData("sha256")]
    [InlineData("size")]
    [InlineData("manifest")]
    [InlineData("issuedAt")]
    public void a_missing_required_field_is_invalid_statement(string field)
    {
        var json = System.Text.Json.Nodes.JsonNode.Parse(Json())!.AsObject();
        Assert.True(json.Remove(field));

        AssertError("invalid-statement", VerifyRaw(json.ToJsonString()));
    }

    [Fact]
    public void a_null_required_string_is_invalid_statement()
    {
        AssertError("invalid-statement", VerifyRaw(Json().Replace("\"version\":\"1.0.0\"", "\"version\":null", StringComparison.Ordinal)));
    }

    [Fact]
    public void a_number_written_as_a_string_is_invalid_statement()
    {
        AssertError("invalid-statement", VerifyRaw(Json().Replace("\"size\":1234", "\"size\":\"1234\"", StringComparison.Ordinal)));
    }

    [Theory]
    [InlineData("null")]
    [InlineData("[]")]
    [InlineData("\"text\"")]
    [InlineData("{")]
    [InlineData("not json")]
    public void a_payload_that_is_not_a_statement_object_is_invalid_statement(string json)
    {
        AssertError("invalid-statement", VerifyRaw(json));
    }

    [Fact]
    public void a_payload_that_is_not_base64_is_invalid_envelope()
    {
        var envelope = _signer.Sign(PayloadTypes.Publish, Statement(Now)) with { Payload = "this is not base64!" };

        AssertError("invalid-envelope", Verify(envelope, _signer.Owner.PublicKey));
    }

    [Fact]
    public void an_empty_payload_is_invalid_envelope()
    {
        var envelope = _signer.Sign(PayloadTypes.Publish, Statement(Now)) with { Payload = "" };

        AssertError("invalid-envelope", Verify(envelope, _signer.Owner.PublicKey));
    }

    [Fact]
    public void an_envelope_without_signatures_is_invalid_envelope()
    {
        var envelope = _signer.Sign(PayloadTypes.Publish, Statement(Now)) with { Signatures = [] };

        AssertError("invalid-envelope", Verify(envelope, _signer.Owner.PublicKey));
    }

    [Fact]
    public void an_envelope_with_more_than_eight_signatures_is_invalid_envelope()
    {
        var envelope = _signer.Sign(PayloadTypes.Publish, Statement(Now));
        envelope = envelope with { Signatures = Enumerable.Repeat(envelope.Signatures[0], 9).ToList() };

        AssertError("invalid-envelope", Verify(envelope, _signer.Owner.PublicKey));
    }

    [Fact]
    public void a_missing_envelope_is_invalid_envelope() => AssertError("invalid-envelope", Verify(null, _signer.Owner.PublicKey));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("AAAA")]
    public void a_missing_or_malformed_public_key_is_invalid_key(string? publicKey)
    {
        var envelope = _signer.Sign(PayloadTypes.Publish, Statement(Now));

        AssertError("invalid-key", Verify(envelope, publicKey));
    }

    [Fact]
    public void a_url_safe_base64_payload_with_padding_is_accepted()
    {
        var envelope = SignWithPlusOrSlash(requirePadding: true);
        var urlSafe = envelope with { Payload = envelope.Payload.Replace('+', '-').Replace('/', '_') };
        Assert.EndsWith("=", urlSafe.Payload, StringComparison.Ordinal);

        Assert.Null(Verify(urlSafe, _signer.Owner.PublicKey).Error);
    }

    [Fact]
    public void a_url_safe_base64_payload_whose_length_needs_no_padding_is_accepted()
    {
        var envelope = SignWithPlusOrSlash(requirePadding: false);
        var urlSafe = envelope with { Payload = envelope.Payload.Replace('+', '-').Replace('/', '_') };
        Assert.DoesNotContain('=', urlSafe.Payload);

        Assert.Null(Verify(urlSafe, _signer.Owner.PublicKey).Error);
    }

    [Fact]
    public void an_unpadded_url_safe_base64_payload_is_accepted()
    {
        var envelope = SignWithPlusOrSlash(requirePadding: true);
        var unpadded = envelope with { Payload = envelope.Payload.Replace('+', '-').Replace('/', '_').TrimEnd('=') };
        Assert.NotEqual(0, unpadded.Payload.Length % 4);

        Assert.Null(Verify(unpadded, _signer.Owner.PublicKey).Error);
    }

    [Fact]
    public void an_unpadded_url_safe_base64_signature_is_accepted()
    {
        var envelope = _signer.Sign(PayloadTypes.Publish, Statement(Now));
        var sig = envelope.Signatures[0].Sig.Replace('+', '-').Replace('/', '_').TrimEnd('=');
        Assert.Equal(86, sig.Length);

        Assert.Null(Verify(envelope with { Signatures = [envelope.Signatures[0] with { Sig = sig }] }, _signer.Owner.PublicKey).Error);
    }

    [Fact]
    public void a_padded_url_safe_base64_signature_is_accepted()
    {
        DsseEnvelope envelope;
        string sig;
        var attempt = 0;
        do
        {
            envelope = _signer.Sign(PayloadTypes.Publish, Statement(Now, description: $"attempt {attempt++}"));
            sig = envelope.Signatures[0].Sig;
        }
        while (!sig.Contains('+', StringComparison.Ordinal) && !sig.Contains('/', StringComparison.Ordinal));
        sig = sig.Replace('+', '-').Replace('/', '_');

        Assert.Null(Verify(envelope with { Signatures = [envelope.Signatures[0] with { Sig = sig }] }, _signer.Owner.PublicKey).Error);
    }

    [Fact]
    public void the_yank_and_owners_statements_verify_under_their_own_payload_types()
    {
        var yank = _signer.Sign(PayloadTypes.Yank, new YankStatement("yank", "left-pad", "1.0.0", "broken", Now));
        var owners = _signer.Sign(PayloadTypes.Owners, new OwnersStatement("add", "left-pad", _other.Owner.KeyId, _other.Owner.PublicKey, Now));

        var y = StatementVerifier.Verify<YankStatement>(yank, _signer.Owner.PublicKey, PayloadTypes.Yank, Now);
        var o = StatementVerifier.Verify<OwnersStatement>(owners, _signer.Owner.PublicKey, PayloadTypes.Owners, Now);

        Assert.Null(y.Error);
        Assert.Equal("broken", y.Value!.Statement.Reason);
        Assert.Null(o.Error);
        Assert.Equal(_other.Owner.KeyId, o.Value!.Statement.KeyId);
        Assert.NotEqual(y.Value.StatementId, o.Value.StatementId);
    }

    /// <summary>
    /// Signs a statement whose standard base64 contains '+' or '/', so its URL-safe form differs;
    /// with <paramref name="requirePadding"/>, one whose length is not a multiple of 3 (ends in '=').
    /// </summary>
    private DsseEnvelope SignWithPlusOrSlash(bool? requirePadding = null)
    {
        for (var i = 0; i < 10_000; i++)
        {
            var envelope = _signer.Sign(PayloadTypes.Publish, Statement(Now, description: "ÿÿ>>??" + new string('~', i)));
            var p = envelope.Payload;
            var hasUrlUnsafe = p.Contains('+', StringComparison.Ordinal) || p.Contains('/', StringComparison.Ordinal);
            var padded = p.EndsWith('=');
            if (hasUrlUnsafe && (requirePadding is null || requirePadding == padded))
                return envelope;
        }
        throw new InvalidOperationException("no suitable payload found");
    }
}
