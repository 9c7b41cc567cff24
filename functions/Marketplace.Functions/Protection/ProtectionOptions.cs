namespace Marketplace.Functions.Protection;

/// <summary>The routes limited per client address, and for the signed ones also per owner key.</summary>
public enum RateLimitedOperation { Publish, Yank, Owners, Download }

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

    public OperationLimit For(RateLimitedOperation operation) => operation switch
    {
        RateLimitedOperation.Publish => Publish,
        RateLimitedOperation.Yank => Yank,
        RateLimitedOperation.Owners => Owners,
        _ => Download,
    };
}

/// <summary>
/// <c>Protection:*</c>. <c>Protection:Profile</c> picks the defaults every other key can override:
/// <list type="bullet">
/// <item><c>local</c> (the default, what <c>infra/run</c>, the tests and the benchmark get): loopback (and an in-process
/// test server, which has no peer address) is exempt, limits are generous, <c>X-Forwarded-For</c> is ignored.</item>
/// <item><c>production</c> (set by a deployment: <c>Protection__Profile=production</c>): nobody is exempt, strict limits,
/// and the client address is the first <c>X-Forwarded-For</c> hop, because on Lambda (Web Adapter) and Azure (custom
/// handler) every request reaches the app from loopback.</item>
/// </list>
/// </summary>
public sealed class ProtectionOptions
{
    public const string Local = "local";
    public const string Production = "production";

    public string Profile { get; set; } = Local;
    public bool ExemptLoopback { get; set; }
    public bool TrustForwardedFor { get; set; }
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
        foreach (var operation in Enum.GetValues<RateLimitedOperation>())
        {
            var limit = options.RateLimits.For(operation);
            if (limit.PerAddress < 0 || limit.PerKey < 0)
                throw new InvalidOperationException($"Protection:RateLimits:{operation}: quotas must be 0 (no limit) or more.");
            if (limit.Window < TimeSpan.FromSeconds(1) || limit.Window > TimeSpan.FromDays(1) || limit.Window.Ticks % TimeSpan.TicksPerSecond != 0)
                throw new InvalidOperationException($"Protection:RateLimits:{operation}:Window must be whole seconds, from 1 s to 1 day.");
        }
        if (options.RateLimits.Download.PerKey != 0)
            throw new InvalidOperationException("Protection:RateLimits:Download:PerKey must be 0: downloads carry no key.");
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
                operation = p.operation.ToString().ToLowerInvariant(),
                partition = p.partition,
                quota = p.quota,
                windowSeconds = (int)RateLimits.For(p.operation).Window.TotalSeconds,
            })
            .ToList(),
    };

    /// <summary>The policy's name in <c>RateLimit-Policy</c> and <c>RateLimit</c>: <c>publish-address</c>, <c>publish-key</c>…</summary>
    public static string PolicyName(RateLimitedOperation operation, string partition) =>
        operation.ToString().ToLowerInvariant() + "-" + partition;

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
        },
    };
}
