using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Marketplace.Benchmark;

/// <summary>Resident memory of the child, from /proc/&lt;pid&gt;/status, in kB.</summary>
internal readonly record struct Memory(long RssKb, long HwmKb);

/// <summary>
/// The service under test: Marketplace.Functions built in Release and run as a child process, its stdout and
/// stderr captured to a file, its memory sampled in the background. Disposing kills it.
/// </summary>
internal sealed class ServiceHost : IDisposable
{
    public const string FunctionsProject = "functions/Marketplace.Functions";
    public const string FunctionsDll = "functions/Marketplace.Functions/bin/Release/net10.0/Marketplace.Functions.dll";

    private readonly Process _process;
    private readonly StreamWriter _log;
    private readonly Lock _logLock = new();
    private readonly CancellationTokenSource _samplerStop = new();
    private readonly Task _sampler;
    private long _windowPeakRssKb;
    private long _overallPeakRssKb;
    private long _lastHwmKb;
    private int _disposed;

    public string LogPath { get; }
    public int Pid { get; }

    private ServiceHost(Process process, StreamWriter log, string logPath)
    {
        _process = process;
        _log = log;
        LogPath = logPath;
        Pid = process.Id;
        _sampler = Task.Run(() => SampleAsync(_samplerStop.Token));
    }

    public bool HasExited => _process.HasExited;

    /// <summary>The directory holding <see cref="FunctionsProject"/>: the current one or one above it, or above this program.</summary>
    public static string FindRepoRoot()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, FunctionsProject, "Marketplace.Functions.csproj")))
                    return dir.FullName;
            }
        }
        throw new InvalidOperationException($"Could not find {FunctionsProject} above {Directory.GetCurrentDirectory()} or {AppContext.BaseDirectory}.");
    }

    /// <summary><c>dotnet build -c Release</c>, retried: others build in this repository at the same time (file locks).</summary>
    public static async Task BuildAsync(string repo, CancellationToken ct)
    {
        const int attempts = 4;
        for (var attempt = 1; ; attempt++)
        {
            var psi = new ProcessStartInfo("dotnet")
            {
                WorkingDirectory = repo,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var a in new[] { "build", FunctionsProject, "-c", "Release", "-nologo", "-v", "q" })
                psi.ArgumentList.Add(a);
            using var build = Process.Start(psi) ?? throw new InvalidOperationException("dotnet build did not start.");
            var stdout = build.StandardOutput.ReadToEndAsync(ct);
            var stderr = build.StandardError.ReadToEndAsync(ct);
            try
            {
                await build.WaitForExitAsync(ct);
            }
            catch (OperationCanceledException)
            {
                build.Kill(entireProcessTree: true);
                throw;
            }
            var output = (await stdout) + (await stderr);
            if (build.ExitCode == 0) return;
            if (attempt == attempts)
                throw new InvalidOperationException($"dotnet build -c Release {FunctionsProject} failed {attempts} times; last output:\n{output}");
            Console.WriteLine($"  build attempt {attempt} failed (exit {build.ExitCode}); retrying in {attempt * 5} s. Last lines:");
            foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries).TakeLast(5))
                Console.WriteLine("    " + line.TrimEnd());
            await Task.Delay(TimeSpan.FromSeconds(attempt * 5), ct);
        }
    }

    /// <summary>Fails early if something already listens on the port: its health check would answer for us.</summary>
    public static void EnsurePortFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            listener.Stop();
        }
        catch (SocketException e)
        {
            throw new InvalidOperationException($"Port {port} on 127.0.0.1 is in use ({e.SocketErrorCode}); pass --port to choose another.", e);
        }
    }

    public static ServiceHost Start(string repo, int port, IReadOnlyDictionary<string, string> environment, string logPath)
    {
        var dll = Path.Combine(repo, FunctionsDll);
        if (!File.Exists(dll))
            throw new InvalidOperationException($"{dll} does not exist; build it (drop --no-build).");
        var contentRoot = Path.Combine(repo, FunctionsProject);
        var psi = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = contentRoot,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = false,
            UseShellExecute = false,
        };
        foreach (var a in new[] { dll, "--urls", $"http://127.0.0.1:{port}", "--contentRoot", contentRoot })
            psi.ArgumentList.Add(a);
        foreach (var (key, value) in environment)
            psi.Environment[key] = value;

        var log = new StreamWriter(logPath, append: false) { AutoFlush = true };
        var process = new Process { StartInfo = psi, EnableRaisingEvents = true };
        if (!process.Start())
        {
            log.Dispose();
            process.Dispose();
            throw new InvalidOperationException("The service process did not start.");
        }
        var host = new ServiceHost(process, log, logPath);
        process.OutputDataReceived += (_, e) => host.Write("out", e.Data);
        process.ErrorDataReceived += (_, e) => host.Write("err", e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return host;
    }

    private void Write(string stream, string? line)
    {
        if (line is null) return;
        lock (_logLock)
        {
            if (Volatile.Read(ref _disposed) == 0)
                _log.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} [{stream}] {line}");
        }
    }

    /// <summary>Polls <c>GET /health/ready</c> until 200; fails if the child exits first.</summary>
    public async Task<TimeSpan> WaitReadyAsync(HttpClient client, TimeSpan timeout, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        var last = "no answer yet";
        while (clock.Elapsed < timeout)
        {
            if (_process.HasExited)
                throw new InvalidOperationException($"The service exited with code {_process.ExitCode} before it was ready.");
            try
            {
                using var response = await client.GetAsync(new Uri("/health/ready", UriKind.Relative), ct);
                if (response.StatusCode == HttpStatusCode.OK) return clock.Elapsed;
                last = $"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(ct)}";
            }
            catch (HttpRequestException e)
            {
                last = e.Message;
            }
            // Often enough not to add to a start-up it measures (a 250 ms poll once made 4.9 s read as 5.1).
            await Task.Delay(20, ct);
        }
        throw new TimeoutException($"GET /health/ready did not answer 200 within {timeout.TotalSeconds:0} s (last: {last}).");
    }

    /// <summary>VmRSS and VmHWM of the child now (zeros once it is gone).</summary>
    public Memory ReadMemory()
    {
        try
        {
            long rss = 0, hwm = 0;
            foreach (var line in File.ReadLines($"/proc/{Pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal)) rss = Kb(line);
                else if (line.StartsWith("VmHWM:", StringComparison.Ordinal)) hwm = Kb(line);
            }
            return new Memory(rss, hwm);
        }
        catch (IOException)
        {
            return default;
        }
        catch (UnauthorizedAccessException)
        {
            return default;
        }

        static long Kb(string line) =>
            long.Parse(line.AsSpan(6).Trim().TrimEnd("kB").Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture);
    }

    /// <summary>Reads the memory now, folds it into the peaks, and returns the peak VmRSS since the last call (kB) with VmHWM.</summary>
    public Memory TakeWindow()
    {
        Sample();
        var peak = Interlocked.Exchange(ref _windowPeakRssKb, 0);
        return new Memory(peak, Interlocked.Read(ref _lastHwmKb));
    }

    /// <summary>The highest VmRSS sampled and the last VmHWM read, in kB.</summary>
    public Memory Overall => new(Interlocked.Read(ref _overallPeakRssKb), Interlocked.Read(ref _lastHwmKb));

    public TimeSpan CpuTime()
    {
        try
        {
            _process.Refresh();
            return _process.TotalProcessorTime;
        }
        catch (InvalidOperationException)
        {
            return TimeSpan.Zero;
        }
    }

    private void Sample()
    {
        var m = ReadMemory();
        if (m.RssKb == 0) return;
        InterlockedMax(ref _windowPeakRssKb, m.RssKb);
        InterlockedMax(ref _overallPeakRssKb, m.RssKb);
        InterlockedMax(ref _lastHwmKb, m.HwmKb);
    }

    private async Task SampleAsync(CancellationToken ct)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
        try
        {
            while (await timer.WaitForNextTickAsync(ct))
                Sample();
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static void InterlockedMax(ref long target, long value)
    {
        var current = Interlocked.Read(ref target);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref target, value, current);
            if (seen == current) return;
            current = seen;
        }
    }

    public IReadOnlyList<string> LogTail(int lines)
    {
        lock (_logLock)
        {
            try
            {
                using var stream = new FileStream(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
                using var reader = new StreamReader(stream);
                var all = new List<string>();
                while (reader.ReadLine() is { } line) all.Add(line);
                return all.TakeLast(lines).ToList();
            }
            catch (IOException)
            {
                return [];
            }
        }
    }

    public int LogLineCount => LogTail(int.MaxValue).Count;

    /// <summary>Kills the child (and anything it started) and waits for it; safe to call more than once.</summary>
    public void Kill()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException)
        {
        }
        catch (System.ComponentModel.Win32Exception)
        {
        }
    }

    public void Dispose()
    {
        Kill();
        _samplerStop.Cancel();
        try
        {
            _sampler.Wait(2_000);
        }
        catch (AggregateException)
        {
        }
        // Let the output readers drain what the child wrote before it died.
        try
        {
            _process.WaitForExit();
        }
        catch (InvalidOperationException)
        {
        }
        lock (_logLock)
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
                _log.Dispose();
        }
        _process.Dispose();
        _samplerStop.Dispose();
    }
}
