using System.Text;
using Alba;
using Marketplace.Functions.Infrastructure;
using Marketplace.Packages;
using Marketplace.Signing;
using Marketplace.Tests.Support;
using Marten;
using static Marketplace.Tests.Support.Packages;

namespace Marketplace.Tests.BadInput;

/// <summary>A registry with one published package (owner known) for the corpus to aim at.</summary>
public sealed class CorpusFixture() : MarketplaceFixture(HostProfile.Default)
{
    public Published Existing { get; private set; } = null!;
    public StatementSigner Stranger { get; } = StatementSigner.Generate();

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        Existing = await Host.PublishedPackage(UniqueName("existing"), "1.0.0");
    }
}

[CollectionDefinition("corpus")]
public sealed class CorpusCollection : ICollectionFixture<CorpusFixture>;

/// <summary>
/// Every bad input is answered 4xx problem+json with its stable code, and leaves the event store, the statement
/// receipts and the blob store exactly as they were.
/// </summary>
[Collection("corpus")]
public sealed class BadInputCorpus(CorpusFixture fixture) : IAsyncLifetime
{
    private sealed record Case(int Status, string Code, Func<CorpusFixture, Action<Scenario>> Request);

    private static string Name() => UniqueName("bad");
    private static readonly byte[] Blob = RandomBlob(2048);

    private static Action<Scenario> PutPublish(string name, string version, object body) =>
        s => s.Put.Json(body).ToUrl($"/v1/packages/{name}/{version}");

    private static Action<Scenario> PutRaw(string name, string version, string raw, string contentType = "application/json") => s =>
    {
        s.Put.Text(raw).ToUrl($"/v1/packages/{name}/{version}");
        s.WithRequestHeader("Content-Type", contentType);
    };

    /// <summary>A publish whose statement and body can be bent one way at a time.</summary>
    private static Action<Scenario> Publish(string? pathName = null, string pathVersion = "1.0.0",
        Func<PublishStatement, PublishStatement>? statement = null, Func<byte[], byte[]?>? blob = null,
        StatementSigner? signer = null, string? publicKey = null, Func<DsseEnvelope, DsseEnvelope>? envelope = null)
    {
        var name = pathName ?? Name();
        signer ??= StatementSigner.Generate();
        var s = Statement(name, pathVersion, Blob);
        s = statement?.Invoke(s) ?? s;
        var env = signer.Sign(PayloadTypes.Publish, s);
        env = envelope?.Invoke(env) ?? env;
        var bytes = blob is null ? Blob : blob(Blob);
        return PutPublish(name, pathVersion, new { envelope = env, publicKey = publicKey ?? signer.Owner.PublicKey, blob = bytes is null ? null : Convert.ToBase64String(bytes) });
    }

    private static Action<Scenario> SignedPublishPayload(string payload)
    {
        var name = Name();
        var signer = StatementSigner.Generate();
        var env = signer.SignBytes(PayloadTypes.Publish, Encoding.UTF8.GetBytes(payload.Replace("NAME", name, StringComparison.Ordinal)));
        return PutPublish(name, "1.0.0", new { envelope = env, publicKey = signer.Owner.PublicKey, blob = Convert.ToBase64String(Blob) });
    }

    private static Action<Scenario> NotBase64Blob()
    {
        var name = Name();
        var signer = StatementSigner.Generate();
        return PutPublish(name, "1.0.0", new { envelope = signer.Sign(PayloadTypes.Publish, Statement(name, "1.0.0", Blob)), publicKey = signer.Owner.PublicKey, blob = "not base64!" });
    }

    private static string Now => DateTimeOffset.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture);

    private static readonly Dictionary<string, Case> Fixed = new()
    {
        // Names
        ["name: Cyrillic look-alike"] = new(400, "invalid-name", _ => Publish(pathName: "p\u0430ckage")),
        ["name: full-width letters"] = new(400, "invalid-name", _ => Publish(pathName: "\uFF50\uFF4B\uFF47")),
        ["name: Kelvin sign"] = new(400, "invalid-name", _ => Publish(pathName: "\u212Aelvin")),
        ["name: dotless i"] = new(400, "invalid-name", _ => Publish(pathName: "p\u0131p")),
        ["name: emoji"] = new(400, "invalid-name", _ => Publish(pathName: "pkg\U0001F600")),
        ["name: starts with a digit"] = new(400, "invalid-name", _ => Publish(pathName: "1pkg")),
        ["name: starts with a dash"] = new(400, "invalid-name", _ => Publish(pathName: "-pkg")),
        ["name: starts with underscore"] = new(400, "invalid-name", _ => Publish(pathName: "_pkg")),
        ["name: 65 characters"] = new(400, "invalid-name", _ => Publish(pathName: "a" + new string('b', 64))),
        ["name: space"] = new(400, "invalid-name", _ => Publish(pathName: "my pkg")),
        ["name: encoded path traversal"] = new(400, "invalid-name", _ => Publish(pathName: "..%2F..%2Fetc")),
        ["name: dots only"] = new(400, "invalid-name", _ => Publish(pathName: "...")),
        ["name: control character"] = new(400, "invalid-name", _ => Publish(pathName: "pkg%01")),
        // Versions
        ["version: two parts"] = new(400, "invalid-version", _ => Publish(pathVersion: "1.0")),
        ["version: leading zero"] = new(400, "invalid-version", _ => Publish(pathVersion: "01.0.0")),
        ["version: numeric pre-release with leading zero"] = new(400, "invalid-version", _ => Publish(pathVersion: "1.0.0-01")),
        ["version: v prefix"] = new(400, "invalid-version", _ => Publish(pathVersion: "v1.0.0")),
        ["version: empty build metadata"] = new(400, "invalid-version", _ => Publish(pathVersion: "1.0.0+")),
        ["version: 200 characters"] = new(400, "invalid-version", _ => Publish(pathVersion: "1.0.0-" + new string('a', 194))),
        // Digests and sizes
        ["digest: uppercase hex"] = new(400, "invalid-digest", _ => Publish(statement: s => s with { Sha256 = s.Sha256.ToUpperInvariant() })),
        ["digest: 63 characters"] = new(400, "invalid-digest", _ => Publish(statement: s => s with { Sha256 = s.Sha256[..63] })),
        ["digest: one byte of the blob flipped"] = new(400, "digest-mismatch", _ => Publish(blob: b => { var c = (byte[])b.Clone(); c[100] ^= 1; return c; })),
        ["digest: truncated blob"] = new(400, "digest-mismatch", _ => Publish(blob: b => b[..^1])),
        ["size: zero"] = new(400, "invalid-statement", _ => Publish(statement: s => s with { Size = 0 })),
        ["size: negative"] = new(400, "invalid-statement", _ => Publish(statement: s => s with { Size = -5 })),
        ["size: over the blob limit"] = new(413, "too-large", _ => Publish(statement: s => s with { Size = 1L << 40 })),
        ["size: inline blob over 3 MiB"] = new(413, "too-large", _ => Publish(blob: _ => new byte[3 * 1024 * 1024 + 1])),
        ["size: body over 6 MB"] = new(413, "too-large", _ => PutRaw(Name(), "1.0.0", "{\"blob\":\"" + new string('A', 6_100_000) + "\"}")),
        // Malformed JSON, base64 and DSSE
        ["json: not JSON"] = new(400, "invalid-request", _ => PutRaw(Name(), "1.0.0", "{{{")),
        ["json: empty body"] = new(400, "invalid-request", _ => PutRaw(Name(), "1.0.0", "")),
        ["json: an array"] = new(400, "invalid-request", _ => PutRaw(Name(), "1.0.0", "[]")),
        ["json: duplicate property"] = new(400, "invalid-request", _ => PutRaw(Name(), "1.0.0", "{\"publicKey\":\"a\",\"publicKey\":\"b\"}")),
        ["json: text/plain"] = new(415, "unsupported-media-type", _ => PutRaw(Name(), "1.0.0", "{}", "text/plain")),
        ["base64: blob is not base64"] = new(400, "invalid-request", _ => NotBase64Blob()),
        ["dsse: no envelope"] = new(400, "invalid-envelope", _ => PutPublish(Name(), "1.0.0", new { publicKey = StatementSigner.Generate().Owner.PublicKey, blob = "AAAA" })),
        ["dsse: payload not base64"] = new(400, "invalid-envelope", _ => Publish(envelope: e => e with { Payload = "***" })),
        ["dsse: no signatures"] = new(400, "invalid-envelope", _ => Publish(envelope: e => e with { Signatures = [] })),
        ["dsse: wrong payloadType"] = new(400, "invalid-envelope", _ => Publish(envelope: e => e with { PayloadType = PayloadTypes.Yank })),
        ["dsse: signature not base64"] = new(400, "bad-signature", _ => Publish(envelope: e => e with { Signatures = [e.Signatures[0] with { Sig = "%%%" }] })),
        ["dsse: tampered payload"] = new(400, "bad-signature", _ => Publish(envelope: e => e with { Payload = Convert.ToBase64String(Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(Convert.FromBase64String(e.Payload)).Replace("\"size\":2048", "\"size\":2049", StringComparison.Ordinal))) })),
        ["dsse: signed by another key"] = new(400, "bad-signature", _ => Publish(publicKey: StatementSigner.Generate().Owner.PublicKey)),
        ["dsse: signature over the payload, not PAE"] = new(400, "bad-signature", _ => Publish(envelope: e => e with { Signatures = [e.Signatures[0] with { Sig = Convert.ToBase64String(new byte[64]) }] })),
        ["key: missing"] = new(400, "invalid-key", _ => Publish(publicKey: "")),
        ["key: 31 bytes"] = new(400, "invalid-key", _ => Publish(publicKey: Convert.ToBase64String(new byte[31]))),
        ["statement: malformed JSON"] = new(400, "invalid-statement", _ => SignedPublishPayload("{\"name\":")),
        ["statement: duplicate property"] = new(400, "invalid-statement", _ => SignedPublishPayload($"{{\"name\":\"NAME\",\"name\":\"other\",\"version\":\"1.0.0\",\"sha256\":\"{Sha256(Blob)}\",\"size\":2048,\"manifest\":{{}},\"issuedAt\":\"{Now}\"}}")),
        ["statement: missing sha256"] = new(400, "invalid-statement", _ => SignedPublishPayload($"{{\"name\":\"NAME\",\"version\":\"1.0.0\",\"size\":2048,\"manifest\":{{}},\"issuedAt\":\"{Now}\"}}")),
        ["statement: size as a string"] = new(400, "invalid-statement", _ => SignedPublishPayload($"{{\"name\":\"NAME\",\"version\":\"1.0.0\",\"sha256\":\"{Sha256(Blob)}\",\"size\":\"2048\",\"manifest\":{{}},\"issuedAt\":\"{Now}\"}}")),
        ["statement: issuedAt not UTC"] = new(400, "invalid-statement", _ => SignedPublishPayload($"{{\"name\":\"NAME\",\"version\":\"1.0.0\",\"sha256\":\"{Sha256(Blob)}\",\"size\":2048,\"manifest\":{{}},\"issuedAt\":\"{DateTimeOffset.UtcNow.ToOffset(TimeSpan.FromHours(2)):yyyy-MM-ddTHH:mm:sszzz}\"}}")),
        ["statement: issuedAt without an offset"] = new(400, "invalid-statement", _ => SignedPublishPayload($"{{\"name\":\"NAME\",\"version\":\"1.0.0\",\"sha256\":\"{Sha256(Blob)}\",\"size\":2048,\"manifest\":{{}},\"issuedAt\":\"{DateTimeOffset.UtcNow:yyyy-MM-ddTHH:mm:ss}\"}}")),
        ["manifest: unbalanced SPDX parenthesis"] = new(400, "invalid-manifest", _ => Publish(statement: s => s with { Manifest = s.Manifest with { License = "(MIT OR Apache-2.0" } })),
        ["manifest: one dependency listed twice"] = new(400, "invalid-manifest", _ => Publish(statement: s => s with { Manifest = s.Manifest with { Dependencies = new Dictionary<string, string> { ["foo-bar"] = "^1.0.0", ["Foo_Bar"] = "^2.0.0" } } })),
        ["statement: ten minutes old"] = new(400, "stale-statement", _ => Publish(statement: s => s with { IssuedAt = DateTimeOffset.UtcNow.AddMinutes(-10) })),
        ["statement: five minutes ahead"] = new(400, "stale-statement", _ => Publish(statement: s => s with { IssuedAt = DateTimeOffset.UtcNow.AddMinutes(5) })),
        ["statement: another name than the path"] = new(400, "statement-mismatch", _ => Publish(statement: s => s with { Name = "other-name" })),
        ["statement: another version than the path"] = new(400, "statement-mismatch", _ => Publish(statement: s => s with { Version = "9.9.9" })),
        // Manifests
        ["manifest: http homepage"] = new(400, "invalid-manifest", _ => Publish(statement: s => s with { Manifest = s.Manifest with { Homepage = "http://example.com" } })),
        ["manifest: javascript repository"] = new(400, "invalid-manifest", _ => Publish(statement: s => s with { Manifest = s.Manifest with { Repository = "javascript:alert(1)" } })),
        ["manifest: eleven keywords"] = new(400, "invalid-manifest", _ => Publish(statement: s => s with { Manifest = s.Manifest with { Keywords = Enumerable.Range(0, 11).Select(i => $"k{i}").ToList() } })),
        ["manifest: uppercase category"] = new(400, "invalid-manifest", _ => Publish(statement: s => s with { Manifest = s.Manifest with { Categories = ["Web"] } })),
        ["manifest: readme over 64 KiB"] = new(400, "invalid-manifest", _ => Publish(statement: s => s with { Manifest = s.Manifest with { Readme = new string('x', 64 * 1024 + 1) } })),
        ["manifest: dangling SPDX operator"] = new(400, "invalid-manifest", _ => Publish(statement: s => s with { Manifest = s.Manifest with { License = "MIT OR" } })),
        ["manifest: dependency with a bad name"] = new(400, "invalid-manifest", _ => Publish(statement: s => s with { Manifest = s.Manifest with { Dependencies = new Dictionary<string, string> { ["../x"] = "^1.0.0" } } })),
        // Ownership and immutability
        ["owner: a stranger publishes to an existing package"] = new(403, "not-owner", f => Publish(pathName: f.Existing.Name, pathVersion: "2.0.0", signer: f.Stranger)),
        ["owner: republishing an existing version"] = new(409, "version-exists", f => Publish(pathName: f.Existing.Name, pathVersion: "1.0.0", signer: f.Existing.Owner)),
        ["yank: by a stranger"] = new(403, "not-owner", f => s => s.Post.Json(YankBody(f.Stranger, "yank", f.Existing.Name, "1.0.0")).ToUrl($"/v1/packages/{f.Existing.Name}/1.0.0/yank")),
        ["yank: an unknown version"] = new(404, "not-found", f => s => s.Post.Json(YankBody(f.Existing.Owner, "yank", f.Existing.Name, "7.0.0")).ToUrl($"/v1/packages/{f.Existing.Name}/7.0.0/yank")),
        ["yank: unknown action"] = new(400, "invalid-statement", f => s => s.Post.Json(YankBody(f.Existing.Owner, "delete", f.Existing.Name, "1.0.0")).ToUrl($"/v1/packages/{f.Existing.Name}/1.0.0/yank")),
        ["yank: statement for another version"] = new(400, "statement-mismatch", f => s => s.Post.Json(YankBody(f.Existing.Owner, "yank", f.Existing.Name, "1.0.1")).ToUrl($"/v1/packages/{f.Existing.Name}/1.0.0/yank")),
        ["yank: publish statement sent to yank"] = new(400, "invalid-envelope", f => s => s.Post.Json(new { envelope = f.Existing.Owner.Sign(PayloadTypes.Publish, Statement(f.Existing.Name, "1.0.0", Blob)), publicKey = f.Existing.Owner.Owner.PublicKey }).ToUrl($"/v1/packages/{f.Existing.Name}/1.0.0/yank")),
        ["owners: removing the last owner"] = new(409, "last-owner", f => s => s.Post.Json(OwnersBody(f.Existing.Owner, "remove", f.Existing.Name, f.Existing.Owner.Owner)).ToUrl($"/v1/packages/{f.Existing.Name}/owners")),
        ["owners: a stranger adds itself"] = new(403, "not-owner", f => s => s.Post.Json(OwnersBody(f.Stranger, "add", f.Existing.Name, f.Stranger.Owner)).ToUrl($"/v1/packages/{f.Existing.Name}/owners")),
        ["owners: keyId not of the publicKey"] = new(400, "invalid-statement", f => s => s.Post.Json(OwnersBody(f.Existing.Owner, "add", f.Existing.Name, f.Stranger.Owner with { KeyId = f.Existing.Owner.Owner.KeyId })).ToUrl($"/v1/packages/{f.Existing.Name}/owners")),
        ["owners: unknown package"] = new(404, "not-found", f => s => s.Post.Json(OwnersBody(f.Stranger, "add", "no-such-package", f.Stranger.Owner)).ToUrl("/v1/packages/no-such-package/owners")),
        // Uploads, downloads and signed URLs
        ["upload: bad digest"] = new(400, "invalid-digest", _ => s => s.Post.Json(new { sha256 = "xyz", size = 10 }).ToUrl("/v1/uploads")),
        ["upload: size over the limit"] = new(413, "too-large", _ => s => s.Post.Json(new { sha256 = Sha256(Blob), size = 1L << 40 }).ToUrl("/v1/uploads")),
        ["upload: zero size"] = new(400, "invalid-request", _ => s => s.Post.Json(new { sha256 = Sha256(Blob), size = 0 }).ToUrl("/v1/uploads")),
        ["upload: URL with a forged size"] = new(403, "bad-url-signature", _ => s => s.Put.ByteArray(Blob).ToUrl($"/v1/blobs/uploads/sha256/{Sha256(Blob)}?size=2048&expires=9999999999&sig=forged")),
        ["download: unknown version"] = new(404, "not-found", f => s => s.Get.Url($"/v1/packages/{f.Existing.Name}/9.9.9/download")),
        ["download: invalid version"] = new(400, "invalid-version", f => s => s.Get.Url($"/v1/packages/{f.Existing.Name}/latest/download")),
        ["download: blob URL with a forged signature"] = new(403, "bad-url-signature", f => s => s.Get.Url($"/v1/blobs/sha256/{f.Existing.Sha256}?file=x&expires=9999999999&sig=forged")),
        ["read: unknown package"] = new(404, "not-found", _ => s => s.Get.Url("/v1/packages/no-such-package")),
        ["read: unknown version"] = new(404, "not-found", f => s => s.Get.Url($"/v1/packages/{f.Existing.Name}/9.9.9")),
        ["read: invalid name"] = new(400, "invalid-name", _ => s => s.Get.Url("/v1/packages/-x")),
        ["read: downloads of an unknown package"] = new(404, "not-found", _ => s => s.Get.Url("/v1/packages/no-such-package/downloads")),
        ["read: downloads over 366 days"] = new(400, "invalid-request", f => s => s.Get.Url($"/v1/packages/{f.Existing.Name}/downloads?days=400")),
        ["read: unknown route"] = new(404, "not-found", _ => s => s.Get.Url("/v1/nothing-here")),
        // Wrong JSON types: a field's type is part of the contract ("10" is not a number)
        ["upload: size as a string"] = new(400, "invalid-request", _ => s => RawPost(s, "/v1/uploads", $"{{\"sha256\":\"{Sha256(Blob)}\",\"size\":\"10\"}}")),
        ["upload: size as a fraction"] = new(400, "invalid-request", _ => s => RawPost(s, "/v1/uploads", $"{{\"sha256\":\"{Sha256(Blob)}\",\"size\":1.5}}")),
        ["upload: size as a boolean"] = new(400, "invalid-request", _ => s => RawPost(s, "/v1/uploads", $"{{\"sha256\":\"{Sha256(Blob)}\",\"size\":true}}")),
        ["upload: size over Int64"] = new(400, "invalid-request", _ => s => RawPost(s, "/v1/uploads", $"{{\"sha256\":\"{Sha256(Blob)}\",\"size\":9223372036854775808}}")),
        ["upload: size in exponent form"] = new(400, "invalid-request", _ => s => RawPost(s, "/v1/uploads", $"{{\"sha256\":\"{Sha256(Blob)}\",\"size\":1e3}}")),
        ["upload: size null"] = new(400, "invalid-request", _ => s => RawPost(s, "/v1/uploads", $"{{\"sha256\":\"{Sha256(Blob)}\",\"size\":null}}")),
        ["upload: negative size"] = new(400, "invalid-request", _ => s => RawPost(s, "/v1/uploads", $"{{\"sha256\":\"{Sha256(Blob)}\",\"size\":-1}}")),
        ["upload: sha256 as a number"] = new(400, "invalid-request", _ => s => RawPost(s, "/v1/uploads", "{\"sha256\":123,\"size\":10}")),
        ["upload: sha256 as an array"] = new(400, "invalid-request", _ => s => RawPost(s, "/v1/uploads", "{\"sha256\":[\"a\"],\"size\":10}")),
        ["upload: sha256 missing"] = new(400, "invalid-digest", _ => s => RawPost(s, "/v1/uploads", "{\"size\":10}")),
        ["upload: body is null"] = new(400, "invalid-request", _ => s => RawPost(s, "/v1/uploads", "null")),
        ["upload: body is an array"] = new(400, "invalid-request", _ => s => RawPost(s, "/v1/uploads", "[]")),
        ["upload: body is a string"] = new(400, "invalid-request", _ => s => RawPost(s, "/v1/uploads", "\"x\"")),
        ["upload: truncated JSON"] = new(400, "invalid-request", _ => s => RawPost(s, "/v1/uploads", "{\"sha256\":")),
        ["upload: empty body"] = new(400, "invalid-request", _ => s => RawPost(s, "/v1/uploads", "")),
        ["upload: text/plain"] = new(415, "unsupported-media-type", _ => s => RawPost(s, "/v1/uploads", "{}", "text/plain")),
        ["upload: duplicate size"] = new(400, "invalid-request", _ => s => RawPost(s, "/v1/uploads", $"{{\"sha256\":\"{Sha256(Blob)}\",\"size\":10,\"size\":20}}")),
        ["upload: 33 levels deep"] = new(400, "invalid-request", _ => s => RawPost(s, "/v1/uploads", "{\"x\":" + string.Concat(Enumerable.Repeat("[", 33)) + string.Concat(Enumerable.Repeat("]", 33)) + "}")),
        ["publish: envelope as a string"] = new(400, "invalid-request", _ => PutRaw(Name(), "1.0.0", "{\"envelope\":\"x\"}")),
        ["publish: publicKey as a number"] = new(400, "invalid-request", _ => PutRaw(Name(), "1.0.0", "{\"publicKey\":5}")),
        ["publish: blob as a number"] = new(400, "invalid-request", _ => PutRaw(Name(), "1.0.0", "{\"blob\":5}")),
        ["publish: signatures as an object"] = new(400, "invalid-request", _ => PutRaw(Name(), "1.0.0", "{\"envelope\":{\"payloadType\":\"x\",\"payload\":\"e30=\",\"signatures\":{}}}")),
        ["publish: payload as a number"] = new(400, "invalid-request", _ => PutRaw(Name(), "1.0.0", "{\"envelope\":{\"payloadType\":\"x\",\"payload\":5,\"signatures\":[]}}")),
        ["yank: body is an array"] = new(400, "invalid-request", f => s => RawPost(s, $"/v1/packages/{f.Existing.Name}/1.0.0/yank", "[]")),
        ["yank: envelope as a number"] = new(400, "invalid-request", f => s => RawPost(s, $"/v1/packages/{f.Existing.Name}/1.0.0/yank", "{\"envelope\":1}")),
        ["owners: body is not JSON"] = new(400, "invalid-request", f => s => RawPost(s, $"/v1/packages/{f.Existing.Name}/owners", "owners")),
        ["owners: publicKey as an object"] = new(400, "invalid-request", f => s => RawPost(s, $"/v1/packages/{f.Existing.Name}/owners", "{\"publicKey\":{}}")),
        // Search and the feed
        ["search: negative limit"] = new(400, "invalid-query", _ => s => s.Get.Url("/v1/search?q=x&limit=-1")),
        ["search: limit over the maximum"] = new(400, "invalid-query", _ => s => s.Get.Url("/v1/search?q=x&limit=100000")),
        ["search: limit not a number"] = new(400, "invalid-query", _ => s => s.Get.Url("/v1/search?q=x&limit=ten")),
        ["search: negative offset"] = new(400, "invalid-query", _ => s => s.Get.Url("/v1/search?q=x&offset=-5")),
        ["search: offset over the maximum"] = new(400, "invalid-query", _ => s => s.Get.Url("/v1/search?q=x&offset=100000000")),
        ["search: unknown sort"] = new(400, "invalid-query", _ => s => s.Get.Url("/v1/search?q=x&sort=random")),
        ["search: negative minDownloads"] = new(400, "invalid-query", _ => s => s.Get.Url("/v1/search?q=x&minDownloads=-1")),
        ["search: minDownloads not a number"] = new(400, "invalid-query", _ => s => s.Get.Url("/v1/search?q=x&minDownloads=many")),
        ["search: query over the length limit"] = new(400, "invalid-query", _ => s => s.Get.Url("/v1/search?q=" + new string('a', 2000))),
        ["events: negative after"] = new(400, "invalid-request", _ => s => s.Get.Url("/v1/events?after=-1")),
        ["events: after not a number"] = new(400, "invalid-request", _ => s => s.Get.Url("/v1/events?after=start")),
        ["events: limit zero"] = new(400, "invalid-request", _ => s => s.Get.Url("/v1/events?limit=0")),
        ["events: limit over the maximum"] = new(400, "invalid-request", _ => s => s.Get.Url("/v1/events?limit=100000000")),
        ["events: limit not a number"] = new(400, "invalid-request", _ => s => s.Get.Url("/v1/events?limit=all")),
    };

    /// <summary>Names refused on every route that takes one (path segments escaped as a client would).</summary>
    private static readonly string[] BadNames =
    [
        "-x", "1abc", "_abc", "a b", "a\u0001b", "pkg!", "pkg@1", "pkg/x", "\uFF50\uFF4B\uFF47", "p\u0430ckage", "pkg$", "pkg(1)",
        "pkg,1", "pkg;x", "pkg'x", "pkg\"x", "pkg<x>", "pkg\u00e9", "\u212Aelvin", "a" + new string('b', 64), "pkg\U0001F600", "pkg+x", "pkg~x",
        "pkg*", "pkg%x",
    ];

    /// <summary>Versions refused on every route that takes one.</summary>
    private static readonly string[] BadVersions =
    [
        "1", "1.0", "1.0.0.0", "01.0.0", "1.01.0", "1.0.0-", "1.0.0-01", "1.0.0+", "v1.0.0", "1.0.0-a..b", "-1.0.0", "latest", "1.0.x",
        "99999999999999999999.0.0", "1.0.0-\u00e9",
    ];

    /// <summary>Ranges npm's grammar does not read: refused at publish with the code of a bad manifest.</summary>
    private static readonly string[] BadRanges =
    [
        "not a range ~~", "latest", "^^1.0.0", ">=", ">=1.0.0 <", "1.2.3.4", "x.y.z", "==1.0.0", "^1.0.0 ||| 2.0.0", "1.0.0 - ", "<<1.0.0",
        "~~1.0.0", "1.0.0\t", "next", "*.*.*.*",
    ];

    private static Dictionary<string, Case> Generated()
    {
        var cases = new Dictionary<string, Case>();
        foreach (var bad in BadNames)
        {
            var n = Uri.EscapeDataString(bad);
            cases[$"name on read: {Show(bad)}"] = new(400, "invalid-name", _ => s => s.Get.Url($"/v1/packages/{n}"));
            cases[$"name on version read: {Show(bad)}"] = new(400, "invalid-name", _ => s => s.Get.Url($"/v1/packages/{n}/1.0.0"));
            cases[$"name on download: {Show(bad)}"] = new(400, "invalid-name", _ => s => s.Get.Url($"/v1/packages/{n}/1.0.0/download"));
            cases[$"name on publish: {Show(bad)}"] = new(400, "invalid-name", _ => PutPublish(n, "1.0.0", new { }));
            cases[$"name on yank: {Show(bad)}"] = new(400, "invalid-name", f => s => s.Post.Json(YankBody(f.Stranger, "yank", bad, "1.0.0")).ToUrl($"/v1/packages/{n}/1.0.0/yank"));
            cases[$"name on owners: {Show(bad)}"] = new(400, "invalid-name", f => s => s.Post.Json(OwnersBody(f.Stranger, "add", bad, f.Stranger.Owner)).ToUrl($"/v1/packages/{n}/owners"));
        }
        foreach (var bad in BadVersions)
        {
            var v = Uri.EscapeDataString(bad);
            cases[$"version on read: {Show(bad)}"] = new(400, "invalid-version", f => s => s.Get.Url($"/v1/packages/{f.Existing.Name}/{v}"));
            cases[$"version on download: {Show(bad)}"] = new(400, "invalid-version", f => s => s.Get.Url($"/v1/packages/{f.Existing.Name}/{v}/download"));
            cases[$"version on publish: {Show(bad)}"] = new(400, "invalid-version", _ => PutPublish(Name(), v, new { }));
            cases[$"version on yank: {Show(bad)}"] = new(400, "invalid-version", f => s => s.Post.Json(YankBody(f.Existing.Owner, "yank", f.Existing.Name, bad)).ToUrl($"/v1/packages/{f.Existing.Name}/{v}/yank"));
        }
        foreach (var bad in BadRanges)
        {
            cases[$"dependency range: {Show(bad)}"] = new(400, "invalid-manifest",
                _ => Publish(statement: st => st with { Manifest = st.Manifest with { Dependencies = new Dictionary<string, string> { ["dep"] = bad } } }));
        }
        return cases;
    }

    private static string Show(string s) => string.Concat(s.Select(c => c is < ' ' or > '~' ? $"\\u{(int)c:x4}" : c.ToString()));

    private static readonly Dictionary<string, Case> Cases = Fixed.Concat(Generated()).ToDictionary(c => c.Key, c => c.Value);

    private static void RawPost(Scenario s, string url, string raw, string contentType = "application/json")
    {
        s.Post.Text(raw).ToUrl(url);
        s.WithRequestHeader("Content-Type", contentType);
    }

    public static TheoryData<string> CaseNames() => new(Cases.Keys);

    [Fact]
    public void the_corpus_has_more_than_two_hundred_and_fifty_cases() => Assert.True(Cases.Count > 250, $"{Cases.Count} cases");

    [Theory]
    [MemberData(nameof(CaseNames))]
    public async Task bad_input_is_refused_with_its_code_and_changes_nothing(string label)
    {
        var @case = Cases[label];
        var before = await Snapshot();
        var result = await fixture.Host.Scenario(s =>
        {
            @case.Request(fixture)(s);
            s.IgnoreStatusCode();
        });
        var body = await result.ReadAsTextAsync();
        Assert.True(@case.Status == result.Context.Response.StatusCode, $"{label}: expected {@case.Status}, got {result.Context.Response.StatusCode}: {body}");
        Assert.StartsWith("application/problem+json", result.Context.Response.ContentType ?? "", StringComparison.Ordinal);
        Assert.Contains($"\"code\":\"{@case.Code}\"", body, StringComparison.Ordinal);
        Assert.Equal(before, await Snapshot());
    }

    private async Task<string> Snapshot()
    {
        await using var session = fixture.Store.QuerySession();
        var receipts = await session.Query<StatementReceipt>().CountAsync();
        var blobs = string.Join(",", await fixture.BlobKeysAsync());
        return $"events={await fixture.EventCountAsync()} receipts={receipts} blobs={blobs}";
    }

    public Task InitializeAsync() => Task.CompletedTask;
    public Task DisposeAsync() => Task.CompletedTask;
}
