using System.Text.Json.Serialization;
using Marketplace.Signing;

namespace Marketplace.Webhooks;

/// <summary>
/// The signed statement of <c>application/vnd.marketplace.webhook.v1+json</c>: create, update, remove or redeliver a
/// subscription. Fields that an action does not use must be absent (refused otherwise, so a statement means one thing).
/// </summary>
public sealed record WebhookStatement(
    string Action,
    DateTimeOffset IssuedAt,
    string? Id = null,
    WebhookScope? Scope = null,
    string? Url = null,
    IReadOnlyList<string>? EventTypes = null,
    string? DeliveryId = null,
    long? FromSequence = null) : IStatement
{
    public const string Create = "create";
    public const string Update = "update";
    public const string Remove = "remove";
    public const string Redeliver = "redeliver";

    /// <summary>The package the statement is about, where there is one (the scope's).</summary>
    [JsonIgnore]
    public string Name => Scope?.Name ?? "";
}
