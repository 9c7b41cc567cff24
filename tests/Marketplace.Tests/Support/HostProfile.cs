namespace Marketplace.Tests.Support;

/// <summary>
/// What a test host varies, in one place: its blob store (<c>file</c>, <c>s3</c>, <c>azure</c>), whether the async
/// daemon runs in-process, how long reads are cached, whether its schema comes from db-apply's code (as a deployed
/// function's does) rather than from start-up, and any further settings. A fixture is a profile and a name:
/// <c>public sealed class NoDaemonFixture() : MarketplaceFixture(HostProfile.Default with { Daemon = false });</c>
/// </summary>
public sealed record HostProfile
{
    /// <summary>File blobs in a temporary folder, the daemon in-process, the read cache off.</summary>
    public static HostProfile Default { get; } = new();

    public string BlobStore { get; init; } = "file";
    public bool Daemon { get; init; } = true;
    public TimeSpan CacheFor { get; init; } = TimeSpan.Zero;

    /// <summary>No schema work at start (<c>Marten:ApplySchemaOnStartup=false</c>): the fixture applies db-apply's code
    /// once the host is built, as a deployment does, so a table db-apply forgets fails the fixture's tests.</summary>
    public bool SchemaFromDbApply { get; init; }

    public IReadOnlyDictionary<string, string?> Settings { get; init; } = new Dictionary<string, string?>();

    /// <summary>
    /// A function as deployed: blobs in S3 (s3rver), no daemon in-process, the schema from db-apply's code, and the
    /// catch-up endpoint on for the projections function (off for the HTTP functions).
    /// </summary>
    public static HostProfile DeployedFunction(bool catchUpEndpoint) =>
        new HostProfile { BlobStore = "s3", Daemon = false, SchemaFromDbApply = true }
            .With(("Projections:CatchUpEndpoint", catchUpEndpoint ? "true" : "false"));

    /// <summary>This profile with <paramref name="settings"/> added (a later value for a key wins).</summary>
    public HostProfile With(params (string Key, string? Value)[] settings)
    {
        var merged = new Dictionary<string, string?>(Settings);
        foreach (var (key, value) in settings) merged[key] = value;
        return this with { Settings = merged };
    }

    /// <summary>The host's settings beyond its blob store's and its schema's.</summary>
    internal Dictionary<string, string?> HostSettings()
    {
        var settings = new Dictionary<string, string?>();
        if (!Daemon) settings["Marten:Daemon"] = "Disabled";
        if (SchemaFromDbApply) settings["Marten:ApplySchemaOnStartup"] = "false";
        foreach (var (key, value) in Settings) settings[key] = value;
        settings.TryAdd("Reads:CacheFor", CacheFor.ToString("c", System.Globalization.CultureInfo.InvariantCulture));
        return settings;
    }
}
