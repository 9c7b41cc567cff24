using System.Text.Json;
using NSec.Cryptography;

namespace Marketplace.Signing;

/// <summary>
/// The publisher's side of a signed statement: serialise, sign PAE(type, payload) with Ed25519, wrap in DSSE.
/// Used by clients, tests and the benchmark; the registry only verifies.
/// </summary>
public sealed class StatementSigner : IDisposable
{
    private readonly Key _key;

    public StatementSigner(Key key)
    {
        _key = key;
        var raw = key.PublicKey.Export(KeyBlobFormat.RawPublicKey);
        Owner = new OwnerKey(OwnerKey.KeyIdOf(raw), Convert.ToBase64String(raw));
    }

    public static StatementSigner Generate() =>
        new(new Key(SignatureAlgorithm.Ed25519, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport }));

    public OwnerKey Owner { get; }

    public DsseEnvelope Sign(string payloadType, object statement) =>
        SignBytes(payloadType, JsonSerializer.SerializeToUtf8Bytes(statement, statement.GetType(), StatementJson.Options));

    public DsseEnvelope SignBytes(string payloadType, byte[] payload)
    {
        var signature = SignatureAlgorithm.Ed25519.Sign(_key, Dsse.Pae(payloadType, payload));
        return new DsseEnvelope(payloadType, Convert.ToBase64String(payload), [new DsseSignature(Owner.KeyId, Convert.ToBase64String(signature))]);
    }

    public void Dispose() => _key.Dispose();
}
