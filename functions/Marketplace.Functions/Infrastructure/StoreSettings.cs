using JasperFx.Events.Daemon;

namespace Marketplace.Functions.Infrastructure;

/// <summary>
/// The event store's settings, read from configuration once per process: its schema and where the projection daemon
/// runs. Whatever depends on "is the daemon in this process" (the daemon itself, the webhook dispatcher, the orphan
/// blob sweep, the search adapter's default, the catch-up's refusal) reads it here.
/// </summary>
/// <param name="Daemon">
/// <c>Marten:Daemon</c>: <c>Solo</c> (default: the one process of <c>infra/run</c>), <c>HotCold</c> (several
/// long-running instances on one database, one leader at a time) or <c>Disabled</c> (a projections function).
/// </param>
public sealed record StoreSettings(string Schema, DaemonMode Daemon)
{
    /// <summary>True where this process runs the async daemon (Solo, or HotCold as leader or standby).</summary>
    public bool DaemonInProcess => Daemon != DaemonMode.Disabled;

    /// <summary>Reads the settings; a daemon mode other than the three refuses to start with a clear message.</summary>
    public static StoreSettings From(IConfiguration configuration)
    {
        var value = configuration["Marten:Daemon"] ?? "Solo";
        var daemon = Enum.TryParse<DaemonMode>(value, ignoreCase: true, out var mode)
                     && mode is DaemonMode.Solo or DaemonMode.HotCold or DaemonMode.Disabled
            ? mode
            : throw new InvalidOperationException($"Marten:Daemon is '{value}'; use Solo, HotCold or Disabled.");
        return new StoreSettings(configuration["Marten:Schema"] ?? "marketplace", daemon);
    }

    /// <summary>The settings registered in <paramref name="services"/>: read and registered by the first caller, shared after.</summary>
    public static StoreSettings In(IServiceCollection services, IConfiguration configuration)
    {
        if (services.FirstOrDefault(d => d.ServiceType == typeof(StoreSettings))?.ImplementationInstance is StoreSettings known)
            return known;
        var settings = From(configuration);
        services.AddSingleton(settings);
        return settings;
    }
}
