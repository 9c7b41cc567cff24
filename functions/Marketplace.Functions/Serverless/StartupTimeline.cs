using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime;
using System.Runtime.CompilerServices;

namespace Marketplace.Functions.Serverless;

/// <summary>
/// Where a cold start spends its time: milliseconds since the process started at each milestone (main entered,
/// services registered, host built, Marten store configured, listening, the first answer of each endpoint), with
/// the methods the JIT compiled so far and the assemblies loaded. One log line each (category
/// <c>Marketplace.Startup</c>), cheap enough to stay on in production, where they sit beside Lambda's Init Duration.
/// </summary>
public static class StartupTimeline
{
    public const string Category = "Marketplace.Startup";

    private static readonly DateTime ProcessStart = ReadProcessStart();
    private static readonly ConcurrentDictionary<string, Milestone> Marks = new();
    private static ILogger? _logger;

    public sealed record Milestone(string Name, double AtMs, long JitMethods, double JitMs, int Assemblies);

    [ModuleInitializer]
    internal static void MainEntered() => Mark("main");

    /// <summary>Milliseconds since the process started (the kernel's start time, so runtime start-up is included).</summary>
    public static double SinceProcessStart => (DateTime.UtcNow - ProcessStart).TotalMilliseconds;

    public static IReadOnlyCollection<Milestone> Milestones => Marks.Values.OrderBy(m => m.AtMs).ToList();

    /// <summary>Records the first time <paramref name="name"/> is reached; later calls are free and ignored.</summary>
    public static void Mark(string name)
    {
        if (Marks.ContainsKey(name)) return;
        var milestone = new Milestone(name, Math.Round(SinceProcessStart, 1), JitInfo.GetCompiledMethodCount(),
            Math.Round(JitInfo.GetCompilationTime().TotalMilliseconds, 1), AppDomain.CurrentDomain.GetAssemblies().Length);
        if (Marks.TryAdd(name, milestone) && _logger is { } logger)
            Log(logger, milestone);
    }

    /// <summary>From here on milestones are logged as they happen; the ones before are logged now.</summary>
    internal static void AttachLogger(ILogger logger)
    {
        if (Interlocked.CompareExchange(ref _logger, logger, null) is not null) return;
        foreach (var m in Milestones) Log(logger, m);
    }

    private static void Log(ILogger logger, Milestone m) =>
        logger.LogInformation(
            "Startup milestone {Milestone} at {AtMs} ms: {JitMethods} methods JIT-compiled in {JitMs} ms, {Assemblies} assemblies loaded",
            m.Name, m.AtMs, m.JitMethods, m.JitMs, m.Assemblies);

    private static DateTime ReadProcessStart()
    {
        try
        {
            using var self = Process.GetCurrentProcess();
            return self.StartTime.ToUniversalTime();
        }
        catch (Exception e) when (e is InvalidOperationException or NotSupportedException or System.ComponentModel.Win32Exception)
        {
            return DateTime.UtcNow;
        }
    }
}

/// <summary>Times the first answer of every endpoint (the cold request each route pays once per instance).</summary>
internal sealed class StartupTimelineFilter : IStartupFilter
{
    private static readonly ConcurrentDictionary<string, bool> Answered = new();

    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        StartupTimeline.AttachLogger(app.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger(StartupTimeline.Category));
        app.ApplicationServices.GetRequiredService<IHostApplicationLifetime>().ApplicationStarted.Register(() => StartupTimeline.Mark("listening"));
        app.Use(async (context, nextMiddleware) =>
        {
            StartupTimeline.Mark("first request");
            await nextMiddleware(context);
            var endpoint = context.GetEndpoint()?.DisplayName ?? "no endpoint";
            if (Answered.TryAdd(endpoint, true))
                StartupTimeline.Mark($"first answer of {endpoint} ({context.Response.StatusCode})");
        });
        next(app);
    };
}
