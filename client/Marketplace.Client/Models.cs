using System.Text.Json;
using Marketplace.Packages;
using Marketplace.Signing;

namespace Marketplace.Client;

/// <summary><c>GET /.well-known/marketplace</c>: what the registry says about itself.</summary>
public sealed record RegistryInfo(string ApiVersion, IReadOnlyList<OwnerKey> RegistryKeys, RegistryLimits Limits,
    IReadOnlyList<string> Features, string? BlobStore);

public sealed record RegistryLimits(long MaxInlineBlobBytes, long MaxBlobBytes, long MaxPublishRequestBytes, long MaxRequestBytes,
    int StatementMaxAgeSeconds, int? MaxSearchLimit, int? MaxEventsPerPage, TransparencyLogInfo? TransparencyLog);

public sealed record TransparencyLogInfo(string Origin, string VerifierKey);

/// <summary><c>GET /health/live</c> or <c>/health/ready</c>: the status and the registry's own words.</summary>
public sealed record HealthReport(bool Healthy, int Status, string Body);

/// <summary><c>GET /v1/packages/{name}</c>.</summary>
public sealed record PackageInfo(string Name, string DisplayName, IReadOnlyList<PackageOwnerInfo> Owners,
    IReadOnlyList<PackageVersionSummary> Versions, string? Latest, long Downloads, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt,
    bool RequireTrustedPublishing = false, IReadOnlyList<TrustedPublisherInfo>? TrustedPublishers = null);

/// <summary>A CI workflow an owner named as a trusted publisher; <see cref="AddedBy"/> and <see cref="AddedAt"/> from the package document.</summary>
public sealed record TrustedPublisherInfo(string Issuer, string Repository, string Workflow, string? Environment,
    string? AddedBy = null, DateTimeOffset? AddedAt = null);

/// <summary><c>GET /v1/packages/{name}/trusted-publishers</c>.</summary>
public sealed record TrustedPublishersInfo(string Name, bool RequireTrustedPublishing, IReadOnlyList<TrustedPublisherInfo> TrustedPublishers);

public sealed record PackageOwnerInfo(string KeyId, string PublicKey, DateTimeOffset? AddedAt);

public sealed record PackageVersionSummary(string Version, string Sha256, long Size, bool Yanked, DateTimeOffset PublishedAt, string KeyId);

/// <summary><c>GET /v1/packages/{name}/{version}</c>: the version as published, with its envelope and public key.</summary>
public sealed record VersionInfo(string Name, string Version, PackageManifest Manifest, string Sha256, long Size, bool Yanked,
    string? YankedReason, long Downloads, DateTimeOffset PublishedAt, string KeyId, string PublicKey, DsseEnvelope? Envelope,
    bool SearchVisible, Marketplace.TrustedPublishing.Provenance? Provenance = null, DsseEnvelope? Certificate = null);

/// <summary>The answer of a publish: the event's global sequence, and where the version document will be.</summary>
public sealed record PublishResult(string Name, string Version, string Sha256, long Sequence)
{
    public Uri? Location { get; init; }

    /// <summary>True when the blob went through <c>POST /v1/uploads</c> and a presigned PUT rather than inline.</summary>
    public bool Uploaded { get; init; }
}

/// <summary><c>POST /v1/uploads</c>: a presigned PUT, or <see cref="Exists"/> when the registry already has the digest.</summary>
public sealed record UploadTicket(string? UploadUrl, IReadOnlyDictionary<string, string>? Headers, DateTimeOffset? ExpiresAt, bool Exists);

public sealed record YankResult(string Name, string Version, bool Yanked, string? Reason, long Sequence);

public sealed record OwnersInfo(string Name, IReadOnlyList<OwnerKey> Owners);

public sealed record DownloadStats(string Name, long Total, IReadOnlyList<DailyDownloads> Days);

public sealed record DailyDownloads(DateOnly Day, long Count);

/// <summary>A blob fetched through its redirect: its SHA-256 and length as received, and where it came from.</summary>
public sealed record DownloadResult(string Sha256, long Size, Uri BlobUrl);

/// <summary>The parameters of <c>GET /v1/search</c>; nulls are left out.</summary>
public sealed record SearchRequest(string? Query = null, string? Category = null, string? Keyword = null, string? Author = null,
    string? License = null, long? MinDownloads = null, string? Sort = null, int? Limit = null, int? Offset = null);

/// <summary><c>GET /v1/log/checkpoint</c> as served (unverified: see <see cref="Trust.TransparencyLogVerifier"/>).</summary>
public sealed record CheckpointResponse(string Origin, long TreeSize, string RootHash, string KeyId, string VerifierKey, string Note);

public sealed record LogLeafInfo(long Index, long Sequence, string LeafHash);

public sealed record InclusionProofInfo(long Index, long Sequence, long TreeSize, string LeafHash, IReadOnlyList<string> Proof);

public sealed record ConsistencyProofInfo(long From, long To, IReadOnlyList<string> Proof);

/// <summary>
/// A page of <c>GET /v1/events</c>. <see cref="LastSequence"/> (<c>X-Last-Sequence</c>) is where the next page starts;
/// the feed is exhausted when it equals <see cref="After"/>.
/// </summary>
public sealed record EventPage(IReadOnlyList<RegistryEvent> Events, long After, long LastSequence, long HighWaterMark)
{
    public bool IsEnd => LastSequence == After;
}

/// <summary>
/// One line of the audit feed or a package's history: a CloudEvents 1.0 structured JSON object, kept as the exact bytes
/// served, since those bytes (not a re-serialisation) are the transparency log's leaf.
/// </summary>
public sealed class RegistryEvent
{
    public const string Published = "dev.marketplace.package.published";
    public const string Yanked = "dev.marketplace.version.yanked";
    public const string Unyanked = "dev.marketplace.version.unyanked";
    public const string OwnerAdded = "dev.marketplace.owner.added";
    public const string OwnerRemoved = "dev.marketplace.owner.removed";
    public const string Downloaded = "dev.marketplace.package.downloaded";
    public const string TrustedPublisherAdded = "dev.marketplace.trusted-publisher.added";
    public const string TrustedPublisherRemoved = "dev.marketplace.trusted-publisher.removed";
    public const string TrustedPublishingRequired = "dev.marketplace.trusted-publishing.required";
    public const string CertificateIssued = "dev.marketplace.publisher-certificate.issued";

    private RegistryEvent(byte[] line, string id, string type, string source, string? subject, DateTimeOffset? time, long sequence, JsonElement data)
    {
        Line = line; Id = id; Type = type; Source = source; Subject = subject; Time = time; Sequence = sequence; Data = data;
    }

    /// <summary>The line as served, without its newline.</summary>
    public ReadOnlyMemory<byte> Line { get; }
    public string Id { get; }
    public string Type { get; }
    public string Source { get; }
    public string? Subject { get; }
    public DateTimeOffset? Time { get; }
    public long Sequence { get; }
    public JsonElement Data { get; }

    /// <summary>Every event but downloads is a leaf of the transparency log.</summary>
    public bool IsLogged => Type != Downloaded;

    /// <summary>RFC 6962 leaf hash of the line: SHA-256(0x00 ‖ line).</summary>
    public byte[] LeafHash() => Marketplace.Transparency.MerkleTree.LeafHash(Line.Span);

    public string? DataString(string property) =>
        Data.ValueKind == JsonValueKind.Object && Data.TryGetProperty(property, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    public static RegistryEvent Parse(ReadOnlyMemory<byte> line)
    {
        try
        {
            using var doc = JsonDocument.Parse(line);
            var root = doc.RootElement;
            string Required(string name) => root.TryGetProperty(name, out var p) && p.ValueKind == JsonValueKind.String
                ? p.GetString()!
                : throw new FormatException($"the event line has no '{name}'.");
            var sequence = root.TryGetProperty("sequence", out var s) && s.TryGetInt64(out var n)
                ? n
                : throw new FormatException("the event line has no numeric 'sequence'.");
            DateTimeOffset? time = root.TryGetProperty("time", out var t) && t.TryGetDateTimeOffset(out var parsed) ? parsed : null;
            var subject = root.TryGetProperty("subject", out var sub) && sub.ValueKind == JsonValueKind.String ? sub.GetString() : null;
            var data = root.TryGetProperty("data", out var d) ? d.Clone() : default;
            return new RegistryEvent(line.ToArray(), Required("id"), Required("type"), Required("source"), subject, time, sequence, data);
        }
        catch (JsonException e)
        {
            throw new FormatException($"an event line is not JSON: {e.Message}", e);
        }
    }

    public override string ToString() => $"{Sequence} {Type} {Subject}";
}
