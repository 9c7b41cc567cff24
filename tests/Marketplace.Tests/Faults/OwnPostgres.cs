using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Marketplace.Tests.Faults;

/// <summary>
/// A PostgreSQL cluster of the fault suite's own (initdb into a temporary folder, a free port), so stopping and
/// restarting it leaves the rest of the suite's database alone. PostgreSQL refuses to run as root: as root the
/// binaries run as the <c>postgres</c> user (runuser). <c>MARKETPLACE_PG_BIN</c> names the binaries' folder; else
/// the newest <c>/usr/lib/postgresql/*/bin</c>.
/// </summary>
public sealed class OwnPostgres : IAsyncDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "mkt-pg-" + Guid.NewGuid().ToString("n")[..10]);
    private readonly string _bin;
    private readonly bool _root = Environment.UserName == "root";

    public int Port { get; } = FreePort();
    private string Data => Path.Combine(_folder, "data");

    public string ConnectionString =>
        $"Host=127.0.0.1;Port={Port};Database=postgres;Username=postgres;SSL Mode=Disable;Maximum Pool Size=30;Timeout=5;Command Timeout=10";

    public OwnPostgres()
    {
        _bin = Environment.GetEnvironmentVariable("MARKETPLACE_PG_BIN") is { Length: > 0 } bin ? bin
            : Directory.Exists("/usr/lib/postgresql")
                ? Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin"))
                    .Where(d => File.Exists(Path.Combine(d, "initdb"))).OrderByDescending(d => d, StringComparer.Ordinal).FirstOrDefault() ?? ""
                : "";
        if (_bin.Length == 0)
            throw new InvalidOperationException("No PostgreSQL binaries: install postgresql (infra/lib.sh does) or set MARKETPLACE_PG_BIN.");
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_folder);
        if (_root) await RunAsync("chown", ["postgres:postgres", _folder], asPostgres: false);
        await RunAsync(Path.Combine(_bin, "initdb"), ["-D", Data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]);
        await StartAsync();
    }

    public Task StartAsync() => RunAsync(Path.Combine(_bin, "pg_ctl"),
        ["-D", Data, "-l", Path.Combine(_folder, "log"), "-w", "-t", "60", "-o",
         $"-p {Port} -k {_folder} -c listen_addresses=127.0.0.1 -c max_connections=200 -c shared_buffers=32MB", "start"]);

    /// <summary><c>fast</c> ends sessions and checkpoints; <c>immediate</c> is a crash (recovery from the WAL at start).</summary>
    public Task StopAsync(string mode) => RunAsync(Path.Combine(_bin, "pg_ctl"), ["-D", Data, "-m", mode, "-w", "-t", "60", "stop"]);

    private async Task RunAsync(string file, IReadOnlyList<string> args, bool asPostgres = true)
    {
        var info = _root && asPostgres
            ? new ProcessStartInfo("runuser") { ArgumentList = { "-u", "postgres", "--", file } }
            : new ProcessStartInfo(file);
        foreach (var a in args) info.ArgumentList.Add(a);
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        info.WorkingDirectory = Path.GetTempPath();
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited {process.ExitCode}: {await output} {await error}");
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync("immediate");
        }
        catch (InvalidOperationException)
        {
            // Already stopped.
        }
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
