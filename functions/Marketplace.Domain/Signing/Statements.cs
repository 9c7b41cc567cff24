using System.Text.Json;
using System.Text.Json.Serialization;
using Marketplace.Packages;

namespace Marketplace.Signing;

public static class PayloadTypes
{
    public const string Publish = "application/vnd.marketplace.publish.v1+json";
    public const string Yank = "application/vnd.marketplace.yank.v1+json";
    public const string Owners = "application/vnd.marketplace.owners.v1+json";
    public const string Webhook = "application/vnd.marketplace.webhook.v1+json";
    public const string TrustedPublisher = "application/vnd.marketplace.trusted-publisher.v1+json";
    public const string PublisherCertificate = "application/vnd.marketplace.publisher-certificate.v1+json";
}

/// <summary>A signed statement: what every mutation carries. <see cref="IssuedAt"/> bounds its freshness.</summary>
public interface IStatement
{
    string Name { get; }
    DateTimeOffset IssuedAt { get; }
}

public sealed record PublishStatement(
    string Name, string Version, string Sha256, long Size, PackageManifest Manifest, DateTimeOffset IssuedAt) : IStatement;

public sealed record YankStatement(string Action, string Name, string Version, string? Reason, DateTimeOffset IssuedAt) : IStatement;

public sealed record OwnersStatement(string Action, string Name, string KeyId, string? PublicKey, DateTimeOffset IssuedAt) : IStatement;

/// <summary>
/// An owner's change to a package's trusted publishers: <c>add</c> or <c>remove</c> one (<c>issuer</c>, <c>repository</c>,
/// <c>workflow</c>, <c>environment</c>), or <c>require</c> trusted publishing (<c>required</c>).
/// </summary>
public sealed record TrustedPublisherStatement(string Action, string Name, string? Issuer, string? Repository, string? Workflow,
    string? Environment, bool? Required, DateTimeOffset IssuedAt) : IStatement;

public static class StatementJson
{
    /// <summary>
    /// Strict reading of signed payloads: duplicate properties are refused so that no two parsers can read
    /// one signed payload differently; numbers are numbers, not strings.
    /// </summary>
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        AllowDuplicateProperties = false,
        NumberHandling = JsonNumberHandling.Strict,
        RespectNullableAnnotations = true,
        RespectRequiredConstructorParameters = true,
        MaxDepth = 16,
        Converters = { new Rfc3339UtcConverter() },
    };
}
