using System.Diagnostics;

namespace Marketplace.Tests.Faults;

/// <summary>
/// The functions app as a real process (<c>dotnet Marketplace.Functions.dll</c>, the build beside this test's
/// configuration) on real Kestrel, with its settings in the environment: what <c>kill -9</c> and raw-socket tests need.
/// </summary>
public sealed class AppProcess : IAsyncDisposable
{
    private readonly Dictionary<string, string> _environment;
    private Process? _process;

    public AppProcess(Dictionary<string, string> environment)
    {
        Port = OwnPostgres.FreePort();
        _environment = new Dictionary<string, string>(environment) { ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{Port}" };
    }

    public int Port { get; }
    public Uri BaseAddress => new($"http://127.0.0.1:{Port}/");

    public static string Dll()
    {
        // tests/Marketplace.Tests/bin/<Configuration>/net10.0/ → functions/Marketplace.Functions/bin/<Configuration>/net10.0/
        var here = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var framework = here.Name;
        var configuration = here.Parent!.Name;
        var root = here;
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "Serverless.sln"))) root = root.Parent;
        var dll = Path.Combine(root?.FullName ?? "", "functions", "Marketplace.Functions", "bin", configuration, framework, "Marketplace.Functions.dll");
        return File.Exists(dll) ? dll : throw new FileNotFoundException("Build functions/Marketplace.Functions first.", dll);
    }

    public async Task StartAsync(HttpClient http)
    {
        var info = new ProcessStartInfo("dotnet") { ArgumentList = { Dll() }, RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Path.GetTempPath() };
        foreach (var (k, v) in _environment) info.Environment[k] = v;
        _process = Process.Start(info)!;
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(60))
        {
            if (_process.HasExited) throw new InvalidOperationException($"The app exited with {_process.ExitCode} at start.");
            try
            {
                using var ready = await http.GetAsync(new Uri(BaseAddress, "/health/ready"));
                if (ready.IsSuccessStatusCode) return;
            }
            catch (HttpRequestException)
            {
            }
            await Task.Delay(200);
        }
        throw new TimeoutException("The app was not ready within 60 s.");
    }

    /// <summary>SIGKILL: no shutdown hooks, no flushing, as an instance dies.</summary>
    public async Task KillAsync()
    {
        if (_process is null || _process.HasExited) return;
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process?.Dispose();
    }
}
