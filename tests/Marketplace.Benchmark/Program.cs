using System.Runtime.InteropServices;
using Marketplace.Benchmark;

BenchOptions options;
try
{
    options = BenchOptions.Parse(args);
}
catch (ArgumentException e)
{
    await Console.Error.WriteLineAsync(e.Message);
    await Console.Error.WriteLineAsync(BenchOptions.Usage);
    return 2;
}
if (options.Help)
{
    Console.WriteLine(BenchOptions.Usage);
    return 0;
}

if (options.Phase == "index") return SearchIndexBench.Run(options, Console.Out);

using var cancel = new CancellationTokenSource();
// Ctrl+C, SIGTERM and SIGHUP stop the load and let the run clean up: the service is always killed.
using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
using var sighup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, Stop);
return await new Benchmark(options, args).RunAsync(cancel.Token);

void Stop(PosixSignalContext context)
{
    context.Cancel = true;
    cancel.Cancel();
}
