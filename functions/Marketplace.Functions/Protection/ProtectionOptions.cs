namespace Marketplace.Functions.Protection;

/// <summary>
/// The routes limited per client address, and for the signed ones also per owner key. <c>PackageDownload</c> is the
/// downloads of one package by one client address (what inflating a package's download count takes); <c>Feed</c> the
/// audit feed and package histories; <c>LogProof</c> checkpoints, leaves and proofs.
/// </summary>
public enum RateLimitedOperation { Publish, Yank, Owners, Download, PackageDownload, Search, Upload, Feed, LogProof }

/// <summary>Where the client address comes from (<c>Protection:ClientAddressSource</c>).</summary>
public static class ClientAddressSources
{
    /// <summary>The TCP peer (local runs; a host reached directly).</summary>
    public const string Peer = "peer";

    /// <summary>The <c>X-Forwarded-For</c> hop <c>Protection:TrustedProxies</c> from the right: the address the outermost trusted proxy
    /// saw.</summary>
    public const string ForwardedFor = "forwarded-for";

    /// <summary>API Gateway's <c>sourceIp</c>, from the request context the Lambda Web Adapter passes in <c>x-amzn-request-context</c>.</summary>
    public const string AwsRequestContext = "aws-request-context";

    /// <summary>Azure Front Door's <c>X-Azure-ClientIP</c> (Front Door sets it; a client's value does not survive).</summary>
    public const string AzureFrontDoor = "azure-front-door";

    public static readonly IReadOnlyList<string> All = [Peer, ForwardedFor, AwsRequestContext, AzureFrontDoor];
}

/// <summary>One operation's quotas: requests per window per client address and per signing key (0 = no limit).</summary>
public sealed class OperationLimit
{
    public int PerAddress { get; set; }
    public int PerKey { get; set; }
    public TimeSpan Window { get; set; } = TimeSpan.FromMinutes(1);
}

/// <summary><c>Protection:RateLimits:*</c>.</summary>
public sealed class RateLimitSettings
{
    public OperationLimit Publish { get; set; } = new();
    public OperationLimit Yank { get; set; } = new();
    public OperationLimit Owners { get; set; } = new();
    public OperationLimit Download { get; set; } = new();
    public OperationLimit PackageDownload { get; set; } = new();
    public OperationLimit Search { get; set; } = new();
    public OperationLimit Upload { get; set; } = new();
    public OperationLimit Feed { get; set; } = new();
    public OperationLimit LogProof { get; set; } = new();

    public OperationLimit For(RateLimitedOperation operation) => operation switch
    {
        RateLimitedOperation.Publish => Publish,
        RateLimitedOperation.Yank => Yank,
        RateLimitedOperation.Owners => Owners,
        RateLimitedOperation.Download => Download,
        RateLimitedOperation.PackageDownload => PackageDownload,
        RateLimitedOperation.Search => Search,
        RateLimitedOperation.Upload => Upload,
        RateLimitedOperation.Feed => Feed,
        _ => LogProof,
    };
}

/// <summary>
/// <c>Protection:*</c>. <c>Protection:Profile</c> picks the defaults every other key can override:
/// <list type="bullet">
/// <item><c>local</c> (the default, what <c>infra/run</c>, the tests and the benchmark get): loopback (and an in-process
/// test server, which has no peer address) is exempt, limits are generous, <c>X-Forwarded-For</c> is ignored.</item>
/// <item><c>production</c> (set by a deployment: <c>Protection__Profile=production</c>): nobody is exempt, strict limits,
/// and the client address is one the platform vouches for (<see cref="ClientAddressSource"/>), because on Lambda (Web
/// Adapter) and Azure (custom handler) every request reaches the app from loopback.</item>
/// </list>
/// Counters are local to each instance and reconciled through PostgreSQL every <see cref="ReconcileInterval"/>
/// (<see cref="RateLimitReconciler"/>), so a quota holds across instances without a database round trip per request.
/// </summary>
public sealed class ProtectionOptions
{
    public const string Local = "local";
    public const string Production = "production";

    public string Profile { get; set; } = Local;
    public bool ExemptLoopback { get; set; }
    public bool TrustForwardedFor { get; set; }

    /// <summary>One of <see cref="ClientAddressSources"/>; empty = <c>forwarded-for</c> when <see cref="TrustForwardedFor"/>, else
    /// <c>peer</c>.</summary>
    public string ClientAddressSource { get; set; } = "";

    /// <summary>Proxies that append to <c>X-Forwarded-For</c> in front of the app: the client is that many hops from the right.</summary>
    public int TrustedProxies { get; set; } = 1;

    /// <summary>How often this instance's counters are written to, and the other instances' read from, PostgreSQL; 0 = local only.</summary>
    public TimeSpan ReconcileInterval { get; set; } = TimeSpan.FromSeconds(1);

    public RateLimitSettings RateLimits { get; set; } = new();

    public static ProtectionOptions From(IConfiguration configuration)
    {
        var section = configuration.GetSection("Protection");
        var profile = (section["Profile"] ?? Local).Trim().ToLowerInvariant();
        var options = profile switch
        {
            Local => LocalDefaults(),
            Production => ProductionDefaults(),
            _ => throw new InvalidOperationException($"Protection:Profile is '{profile}'; use 'local' or 'production'."),
        };
        section.Bind(options);
        options.Profile = profile;
        if (string.IsNullOrWhiteSpace(options.ClientAddressSource))
            options.ClientAddressSource = options.TrustForwardedFor ? ClientAddressSources.ForwardedFor : ClientAddressSources.Peer;
        options.ClientAddressSource = options.ClientAddressSource.Trim().ToLowerInvariant();
        if (!ClientAddressSources.All.Contains(options.ClientAddressSource))
            throw new InvalidOperationException(
                $"Protection:ClientAddressSource is '{options.ClientAddressSource}'; use one of {string.Join(", ", ClientAddressSources.All)}.");
        if (options.TrustedProxies is < 1 or > 10)
            throw new InvalidOperationException("Protection:TrustedProxies must be 1 to 10.");
        if (options.ReconcileInterval < TimeSpan.Zero || options.ReconcileInterval > TimeSpan.FromMinutes(1))
            throw new InvalidOperationException("Protection:ReconcileInterval must be 0 (local only) to 1 minute.");
        foreach (var operation in Enum.GetValues<RateLimitedOperation>())
        {
            var limit = options.RateLimits.For(operation);
            if (limit.PerAddress < 0 || limit.PerKey < 0)
                throw new InvalidOperationException($"Protection:RateLimits:{operation}: quotas must be 0 (no limit) or more.");
            if (limit.Window < TimeSpan.FromSeconds(1) || limit.Window > TimeSpan.FromDays(1) || limit.Window.Ticks % TimeSpan.TicksPerSecond != 0)
                throw new InvalidOperationException($"Protection:RateLimits:{operation}:Window must be whole seconds, from 1 s to 1 day.");
        }
        foreach (var unsigned in new[] { RateLimitedOperation.Download, RateLimitedOperation.PackageDownload, RateLimitedOperation.Search,
                     RateLimitedOperation.Upload, RateLimitedOperation.Feed, RateLimitedOperation.LogProof })
        {
            if (options.RateLimits.For(unsigned).PerKey != 0)
                throw new InvalidOperationException($"Protection:RateLimits:{unsigned}:PerKey must be 0: those requests carry no key.");
        }
        return options;
    }

    /// <summary>What <c>/.well-known/marketplace</c> lists under <c>limits.rateLimits</c>.</summary>
    public object Describe() => new
    {
        exemptLoopback = ExemptLoopback,
        policies = Enum.GetValues<RateLimitedOperation>()
            .SelectMany(operation => new[]
            {
                (operation, partition: "address", quota: RateLimits.For(operation).PerAddress),
                (operation, partition: "key", quota: RateLimits.For(operation).PerKey),
            })
            .Where(p => p.quota > 0)
            .Select(p => new
            {
                name = PolicyName(p.operation, p.partition),
                operation = Slug(p.operation),
                partition = p.partition,
                quota = p.quota,
                windowSeconds = (int)RateLimits.For(p.operation).Window.TotalSeconds,
            })
            .ToList(),
    };

    /// <summary>The policy's name in <c>RateLimit-Policy</c> and <c>RateLimit</c>: <c>publish-address</c>, <c>publish-key</c>…</summary>
    public static string PolicyName(RateLimitedOperation operation, string partition) => Slug(operation) + "-" + partition;

    /// <summary><c>PackageDownload</c> → <c>package-download</c>.</summary>
    public static string Slug(RateLimitedOperation operation) =>
        string.Concat(operation.ToString()
            .Select((c, i) => char.IsUpper(c) && i > 0 ? "-" + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString()));

    private static ProtectionOptions LocalDefaults() => new()
    {
        ExemptLoopback = true,
        TrustForwardedFor = false,
        RateLimits = new RateLimitSettings
        {
            Publish = new() { PerAddress = 1200, PerKey = 600 },
            Yank = new() { PerAddress = 600, PerKey = 300 },
            Owners = new() { PerAddress = 600, PerKey = 300 },
            Download = new() { PerAddress = 12000 },
            PackageDownload = new() { PerAddress = 6000, Window = TimeSpan.FromHours(1) },
            Search = new() { PerAddress = 6000 },
            Upload = new() { PerAddress = 1200 },
            Feed = new() { PerAddress = 6000 },
            LogProof = new() { PerAddress = 6000 },
        },
    };

    private static ProtectionOptions ProductionDefaults() => new()
    {
        ExemptLoopback = false,
        TrustForwardedFor = true,
        RateLimits = new RateLimitSettings
        {
            Publish = new() { PerAddress = 120, PerKey = 60 },
            Yank = new() { PerAddress = 60, PerKey = 30 },
            Owners = new() { PerAddress = 30, PerKey = 15 },
            Download = new() { PerAddress = 1200 },
            // Inflating one package's download count takes a new client address every 100 downloads an hour.
            PackageDownload = new() { PerAddress = 100, Window = TimeSpan.FromHours(1) },
            Search = new() { PerAddress = 300 },
            Upload = new() { PerAddress = 60 },
            Feed = new() { PerAddress = 300 },
            LogProof = new() { PerAddress = 600 },
        },
    };
}
