using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Marketplace.Tests.Cluster;

/// <summary>
/// One instance of the app as its own process (<c>dotnet Marketplace.Functions.dll</c>, real Kestrel on a loopback
/// port), so it can be killed like a crashed container: SIGKILL, no shutdown hooks, its PostgreSQL sessions dropped
/// by the kernel closing its sockets.
/// </summary>
public sealed class ClusterNode : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();

    public string Name { get; }
    public Uri BaseAddress { get; }
    public HttpClient Http { get; }
    public bool Killed { get; private set; }

    private ClusterNode(string name, int port, IReadOnlyDictionary<string, string> settings)
    {
        Name = name;
        BaseAddress = new Uri($"http://127.0.0.1:{port}/");
        var app = Path.Combine(AppContext.BaseDirectory, "Marketplace.Functions.dll");
        var start = new ProcessStartInfo("dotnet", [app])
        {
            WorkingDirectory = AppContext.BaseDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.Environment["ASPNETCORE_URLS"] = BaseAddress.ToString().TrimEnd('/');
        start.Environment["DOTNET_ENVIRONMENT"] = "Production";
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        foreach (var (key, value) in settings) start.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        _process = new Process { StartInfo = start };
        _process.OutputDataReceived += (_, e) => Keep(e.Data);
        _process.ErrorDataReceived += (_, e) => Keep(e.Data);
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        Http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, PooledConnectionLifetime = TimeSpan.FromSeconds(30) })
        {
            BaseAddress = BaseAddress,
            Timeout = TimeSpan.FromSeconds(15),
        };
    }

    private void Keep(string? line)
    {
        if (line is null) return;
        _output.Enqueue(line);
        while (_output.Count > 200) _output.TryDequeue(out _);
    }

    /// <summary>The process's last lines of output, for a failure message.</summary>
    public string Output => $"--- {Name} ---\n" + string.Join('\n', _output);

    public static async Task<ClusterNode> StartAsync(string name, IReadOnlyDictionary<string, string> settings, TimeSpan timeout)
    {
        var node = new ClusterNode(name, FreePort(), settings);
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (node._process.HasExited)
                throw new InvalidOperationException($"{name} exited with {node._process.ExitCode}.\n{node.Output}");
            try
            {
                using var ready = await node.Http.GetAsync("health/ready");
                if (ready.StatusCode == HttpStatusCode.OK) return node;
            }
            catch (HttpRequestException)
            {
            }
            if (clock.Elapsed > timeout)
            {
                await node.DisposeAsync();
                throw new TimeoutException($"{name} not ready within {timeout}.\n{node.Output}");
            }
            await Task.Delay(100);
        }
    }

    /// <summary>SIGKILL: what a crash or an OOM kill does to a container.</summary>
    public void Kill()
    {
        Killed = true;
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit(5_000);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public ValueTask DisposeAsync()
    {
        if (!_process.HasExited) Kill();
        _process.Dispose();
        Http.Dispose();
        return ValueTask.CompletedTask;
    }
}
