using System.Net;
using System.Security.Cryptography;
using System.Text;
using Marketplace.Packages;

namespace Marketplace.Webhooks;

/// <summary>A webhook statement after every field rule: what the endpoint acts on.</summary>
public sealed record WebhookRequest(
    string Action, Guid? Id, WebhookScope? Scope, WebhookUrl? Url, IReadOnlyList<string>? EventTypes, Guid? DeliveryId, long? FromSequence);

/// <summary>A receiver URL as stored (normalised), its origin and its digest (the two that events carry).</summary>
public sealed record WebhookUrl(string Value, string Origin, string Sha256)
{
    public static WebhookUrl Of(Uri uri)
    {
        var value = uri.AbsoluteUri;
        return new WebhookUrl(value, uri.GetLeftPart(UriPartial.Authority), Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(value))));
    }
}

/// <summary>Field rules of webhook statements: actions, scopes, URLs and event types. Pure; no I/O.</summary>
public static class WebhookRules
{
    public const int MaxEventTypes = 64;

    /// <summary>The CloudEvents type of a download (the one type an empty filter leaves out).</summary>
    public const string DownloadedType = "dev.marketplace.package.downloaded";

    /// <param name="knownTypes">The CloudEvents types the registry emits.</param>
    /// <param name="allowPrivateNetworks">Local development: http and private, loopback and link-local hosts allowed.</param>
    public static Outcome<WebhookRequest> Validate(WebhookStatement s, IReadOnlySet<string> knownTypes, bool allowPrivateNetworks, int maxUrlLength)
    {
        switch (s.Action)
        {
            case WebhookStatement.Create:
                if (s.Id is not null)
                    return DomainError.InvalidStatement("id is assigned by the registry on create; leave it out.");
                if (s.DeliveryId is not null || s.FromSequence is not null)
                    return DomainError.InvalidStatement("deliveryId and fromSequence belong to redeliver.");
                if (s.Scope is null)
                    return DomainError.InvalidStatement(
                        "scope is required on create: {kind: package, name} | {kind: owner, keyId} | {kind: registry}.");
                var scope = ValidateScope(s.Scope);
                if (scope.Error is { } scopeError) return scopeError;
                var url = ValidateUrl(s.Url, allowPrivateNetworks, maxUrlLength);
                if (url.Error is { } urlError) return urlError;
                var types = ValidateEventTypes(s.EventTypes ?? [], knownTypes);
                if (types.Error is { } typeError) return typeError;
                return new WebhookRequest(s.Action, null, scope.Value, url.Value, types.Value, null, null);

            case WebhookStatement.Update:
            {
                var id = ParseId(s.Id, "id");
                if (id.Error is { } idError) return idError;
                if (s.Scope is not null)
                    return DomainError.InvalidStatement("a subscription's scope never changes; remove it and create another.");
                if (s.DeliveryId is not null || s.FromSequence is not null)
                    return DomainError.InvalidStatement("deliveryId and fromSequence belong to redeliver.");
                if (s.Url is null && s.EventTypes is null)
                    return DomainError.InvalidStatement("an update names a new url, new eventTypes, or both.");
                WebhookUrl? newUrl = null;
                if (s.Url is not null)
                {
                    var checkedUrl = ValidateUrl(s.Url, allowPrivateNetworks, maxUrlLength);
                    if (checkedUrl.Error is { } e) return e;
                    newUrl = checkedUrl.Value;
                }
                IReadOnlyList<string>? newTypes = null;
                if (s.EventTypes is not null)
                {
                    var checkedTypes = ValidateEventTypes(s.EventTypes, knownTypes);
                    if (checkedTypes.Error is { } e) return e;
                    newTypes = checkedTypes.Value;
                }
                return new WebhookRequest(s.Action, id.Value, null, newUrl, newTypes, null, null);
            }

            case WebhookStatement.Remove:
            {
                var id = ParseId(s.Id, "id");
                if (id.Error is { } idError) return idError;
                if (s.Scope is not null || s.Url is not null || s.EventTypes is not null || s.DeliveryId is not null || s.FromSequence is not null)
                    return DomainError.InvalidStatement("remove names only the subscription id.");
                return new WebhookRequest(s.Action, id.Value, null, null, null, null, null);
            }

            case WebhookStatement.Redeliver:
            {
                var id = ParseId(s.Id, "id");
                if (id.Error is { } idError) return idError;
                if (s.Scope is not null || s.Url is not null || s.EventTypes is not null)
                    return DomainError.InvalidStatement("redeliver names the subscription id and a deliveryId or a fromSequence.");
                if ((s.DeliveryId is null) == (s.FromSequence is null))
                    return DomainError.InvalidStatement(
                        "redeliver names exactly one of deliveryId (one delivery) or fromSequence (every delivery from that log position).");
                if (s.FromSequence is < 0)
                    return DomainError.InvalidStatement("fromSequence is a log position, 0 or more.");
                Guid? deliveryId = null;
                if (s.DeliveryId is not null)
                {
                    var parsed = ParseId(s.DeliveryId, "deliveryId");
                    if (parsed.Error is { } e) return e;
                    deliveryId = parsed.Value;
                }
                return new WebhookRequest(s.Action, id.Value, null, null, null, deliveryId, s.FromSequence);
            }

            default:
                return DomainError.InvalidStatement("action must be 'create', 'update', 'remove' or 'redeliver'.");
        }
    }

    public static Outcome<WebhookScope> ValidateScope(WebhookScope scope)
    {
        switch (scope.Kind)
        {
            case WebhookScope.Package:
                if (scope.KeyId is not null)
                    return DomainError.InvalidStatement("a package scope names the package only.");
                var name = PackageName.Normalize(scope.Name);
                if (name.Error is { } nameError) return nameError;
                return new WebhookScope(WebhookScope.Package, Name: name.Value);
            case WebhookScope.Owner:
                if (scope.Name is not null)
                    return DomainError.InvalidStatement("an owner scope names the owner key only.");
                if (!IsKeyId(scope.KeyId))
                    return DomainError.InvalidStatement("an owner scope's keyId is 'ed25519:' followed by 32 lowercase hex characters.");
                return new WebhookScope(WebhookScope.Owner, KeyId: scope.KeyId);
            case WebhookScope.Registry:
                if (scope.Name is not null || scope.KeyId is not null)
                    return DomainError.InvalidStatement("a registry scope names nothing else.");
                return new WebhookScope(WebhookScope.Registry);
            default:
                return DomainError.InvalidStatement("scope.kind must be 'package', 'owner' or 'registry'.");
        }
    }

    /// <summary>
    /// https only (http too when private networks are allowed), no credentials, no fragment, at most
    /// <paramref name="maxLength"/> characters. Hosts that are IP literals of non-public ranges, <c>localhost</c> and
    /// single-label names are refused here already; every delivery checks the resolved addresses again.
    /// </summary>
    public static Outcome<WebhookUrl> ValidateUrl(string? text, bool allowPrivateNetworks, int maxLength)
    {
        if (string.IsNullOrWhiteSpace(text))
            return WebhookErrors.InvalidUrl("url is required: the absolute https URL that receives the events.");
        if (text.Length > maxLength)
            return WebhookErrors.InvalidUrl($"url has {text.Length} characters; at most {maxLength}.");
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || uri.IsFile || uri.IsUnc)
            return WebhookErrors.InvalidUrl("url is not an absolute URL.");
        if (uri.Scheme != Uri.UriSchemeHttps && !(allowPrivateNetworks && uri.Scheme == Uri.UriSchemeHttp))
            return WebhookErrors.InvalidUrl(allowPrivateNetworks ? "url must be http or https." : "url must be https.");
        if (uri.UserInfo.Length > 0)
            return WebhookErrors.InvalidUrl("url must not carry credentials (user:password@).");
        if (uri.Fragment.Length > 0)
            return WebhookErrors.InvalidUrl("url must not have a fragment.");
        if (uri.AbsoluteUri.Length > maxLength)
            return WebhookErrors.InvalidUrl($"url has more than {maxLength} characters once normalised.");
        if (!allowPrivateNetworks)
        {
            // Classify the host as a resolver will see it: IDNA-mapped (full-width digits and dots become ASCII),
            // lowercase, without the root's trailing dot ("127.0.0.1." and "metadata.google.internal." are those hosts).
            var host = NormalizedHost(uri);
            if (host is null)
                return WebhookErrors.InvalidUrl("url's host is not a valid host name.");
            if (IPAddress.TryParse(host, out var address))
            {
                var kind = AddressClassifier.Classify(address);
                if (kind != AddressKind.Public)
                    return WebhookErrors.InvalidUrl(
                        $"url points at {address} ({AddressClassifier.Describe(kind)}); only public addresses receive webhooks.");
            }
            else if (host == "localhost" || host.EndsWith(".localhost", StringComparison.Ordinal)
                     || host.EndsWith(".local", StringComparison.Ordinal) || host.EndsWith(".internal", StringComparison.Ordinal))
            {
                return WebhookErrors.InvalidUrl($"url points at {host}, a local name; only public hosts receive webhooks.");
            }
            else if (!host.Contains('.', StringComparison.Ordinal))
            {
                return WebhookErrors.InvalidUrl($"url's host '{host}' is a single-label name; use a public, fully qualified name.");
            }
            else if (host[(host.LastIndexOf('.') + 1)..].All(char.IsAsciiDigit))
            {
                // WHATWG URL parsers read a host ending in a number as an IPv4 address ("1.2.3.0x7f", "127.1.").
                return WebhookErrors.InvalidUrl($"url's host '{host}' ends in a number, which URL parsers read as an IPv4 address.");
            }
        }
        return WebhookUrl.Of(uri);
    }

    /// <summary>
    /// The host as a resolver sees it: UTS #46's width mapping (full-width letters, digits and dots, ideographic full
    /// stops become ASCII: done here because the functions run with invariant globalization, where IDNA does no
    /// mapping), lowercase, IPv6 without brackets, trailing dots removed, other non-ASCII labels in punycode; null
    /// when nothing usable is left.
    /// </summary>
    public static string? NormalizedHost(Uri uri)
    {
        var raw = uri.HostNameType == UriHostNameType.IPv6 ? uri.DnsSafeHost : uri.Host;
        var mapped = new StringBuilder(raw.Length);
        foreach (var c in raw)
        {
            mapped.Append(c switch
            {
                >= '\uFF01' and <= '\uFF5E' => (char)(c - 0xFEE0),   // full-width ASCII
                '\u3002' or '\uFF61' => '.',                         // ideographic and half-width ideographic full stop
                _ => c,
            });
        }
        var host = mapped.ToString().Trim('[', ']').TrimEnd('.').ToLowerInvariant();
        if (host.Length == 0 || host.Contains("..", StringComparison.Ordinal)) return null;
        if (host.All(char.IsAscii)) return host;
        try
        {
            return new System.Globalization.IdnMapping().GetAscii(host).ToLowerInvariant();
        }
        catch (ArgumentException)
        {
            return null;
        }
    }

    /// <summary>Known types only, no duplicates; kept sorted so equal filters compare equal. Empty means every type but downloads.</summary>
    public static Outcome<IReadOnlyList<string>> ValidateEventTypes(IReadOnlyList<string> types, IReadOnlySet<string> knownTypes)
    {
        if (types.Count > MaxEventTypes)
            return DomainError.InvalidStatement($"eventTypes lists at most {MaxEventTypes} types.");
        var seen = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var type in types)
        {
            if (type is null || !knownTypes.Contains(type))
                return WebhookErrors.UnknownEventType(
                    $"'{type}' is not an event type of this registry; known: {string.Join(", ", knownTypes.Order(StringComparer.Ordinal))}.");
            if (!seen.Add(type))
                return DomainError.InvalidStatement($"eventTypes lists '{type}' twice.");
        }
        return seen.ToList();
    }

    private static Outcome<Guid> ParseId(string? text, string field) =>
        Guid.TryParseExact(text, "D", out var id) && id != Guid.Empty
            ? id
            : DomainError.InvalidStatement($"{field} must be a UUID (e.g. 0190a5b2-7c1d-7e3f-9a4b-1c2d3e4f5a6b).");

    private static bool IsKeyId(string? keyId) =>
        keyId is { Length: 40 } && keyId.StartsWith("ed25519:", StringComparison.Ordinal) && keyId[8..].All(char.IsAsciiHexDigitLower);
}
