using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using NSec.Cryptography;

namespace Marketplace.Transparency;

/// <summary>
/// A signed tree head in the C2SP <c>tlog-checkpoint</c> form, as a signed note (C2SP <c>signed-note</c>, the format
/// of sum.golang.org): the text <c>origin\nsize\nbase64(root)\n</c>, a blank line, and one signature line
/// <c>— origin base64(keyHash[4] ‖ Ed25519 signature)</c>, where keyHash = SHA-256(origin ‖ "\n" ‖ 0x01 ‖ public key).
/// Anyone holding the registry's public key can check it with any signed-note library.
/// </summary>
public sealed record Checkpoint(string Origin, long TreeSize, byte[] RootHash)
{
    private const byte Ed25519Type = 0x01;
    private const string Dash = "\u2014 ";

    /// <summary>The signed text: origin, size and root, each on its own line.</summary>
    public string Body => $"{Origin}\n{TreeSize}\n{Convert.ToBase64String(RootHash)}\n";

    /// <summary>The 4-byte key hash that prefixes signatures by <paramref name="publicKey"/> under this origin.</summary>
    public static uint KeyHash(string origin, ReadOnlySpan<byte> publicKey)
    {
        var input = new byte[Encoding.UTF8.GetByteCount(origin) + 2 + publicKey.Length];
        var at = Encoding.UTF8.GetBytes(origin, input);
        input[at++] = (byte)'\n';
        input[at++] = Ed25519Type;
        publicKey.CopyTo(input.AsSpan(at));
        return BinaryPrimitives.ReadUInt32BigEndian(SHA256.HashData(input));
    }

    /// <summary>The verifier key string <c>origin+hex(keyHash)+base64(0x01 ‖ public key)</c> (Go's note.NewVerifier format).</summary>
    public static string VerifierKey(string origin, ReadOnlySpan<byte> publicKey) =>
        $"{origin}+{KeyHash(origin, publicKey):x8}+{Convert.ToBase64String([Ed25519Type, .. publicKey])}";

    public string Sign(Key key)
    {
        var publicKey = key.PublicKey.Export(KeyBlobFormat.RawPublicKey);
        var signature = SignatureAlgorithm.Ed25519.Sign(key, Encoding.UTF8.GetBytes(Body));
        var blob = new byte[4 + signature.Length];
        BinaryPrimitives.WriteUInt32BigEndian(blob, KeyHash(Origin, publicKey));
        signature.CopyTo(blob, 4);
        return $"{Body}\n{Dash}{Origin} {Convert.ToBase64String(blob)}\n";
    }

    /// <summary>
    /// Parses a signed note and checks its signature by <paramref name="publicKey"/> (raw 32 bytes); null when the
    /// note is malformed, names another origin than expected, or no signature line verifies.
    /// </summary>
    public static Checkpoint? Verify(string note, string origin, ReadOnlySpan<byte> publicKey)
    {
        var split = note.IndexOf("\n\n", StringComparison.Ordinal);
        if (split < 0 || !note.EndsWith('\n')) return null;
        var body = note[..(split + 1)];
        var lines = body.Split('\n');
        if (lines.Length != 4 || lines[0] != origin
            || !long.TryParse(lines[1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var size))
            return null;
        byte[] root;
        try { root = Convert.FromBase64String(lines[2]); }
        catch (FormatException) { return null; }
        if (root.Length != MerkleTree.HashSize) return null;
        var key = PublicKey.Import(SignatureAlgorithm.Ed25519, publicKey, KeyBlobFormat.RawPublicKey);
        var keyHash = KeyHash(origin, publicKey);
        foreach (var line in note[(split + 2)..].Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (!line.StartsWith(Dash + origin + " ", StringComparison.Ordinal)) continue;
            byte[] blob;
            try { blob = Convert.FromBase64String(line[(Dash.Length + origin.Length + 1)..]); }
            catch (FormatException) { continue; }
            if (blob.Length != 4 + 64 || BinaryPrimitives.ReadUInt32BigEndian(blob) != keyHash) continue;
            if (SignatureAlgorithm.Ed25519.Verify(key, Encoding.UTF8.GetBytes(body), blob.AsSpan(4)))
                return new Checkpoint(origin, size, root);
        }
        return null;
    }
}
