using System.Globalization;
using Marketplace.ColdStart;

// Cold starts of the published functions artifact: for each build variant, N fresh processes against a fresh
// schema (applied beforehand by the artifact's own db-apply), each timed from process start to its first ready,
// publish and download answers, with the app's own startup milestones (ms since process start, JIT work so far).
var options = ColdStartOptions.Parse(args);
if (options is null)
{
    Console.WriteLine(ColdStartOptions.Usage);
    return 2;
}

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancel.Cancel();
};

var repo = Runner.FindRepoRoot();
var work = Directory.CreateTempSubdirectory("mkt-coldstart-");
try
{
    await Runner.EnsureServicesAsync(options, cancel.Token);
    var results = new List<RunResult>();
    foreach (var variant in options.Variants)
    {
        var build = await Builds.PublishAsync(repo, variant, Path.Combine(work.FullName, variant.Name), cancel.Token);
        Console.WriteLine($"{variant.Name}: {variant.Description}; published in {build.PublishSeconds:0.0} s to {build.Directory} ({build.ReadyToRunNote})");
        for (var i = 1; i <= options.Runs; i++)
        {
            var run = await Runner.RunOnceAsync(options, build, i, cancel.Token);
            results.Add(run);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  run {i}: db-apply {run.DbApplyMs:0} ms | ready {run.ReadyMs:0} ms | first publish {run.PublishMs:0} ms ({run.PublishLatencyMs:0} ms) | first download {run.DownloadMs:0} ms ({run.DownloadLatencyMs:0} ms)"));
        }
    }
    Report.Print(options, results);
    return 0;
}
catch (RunFailedException e)
{
    Console.Error.WriteLine(e.Message);
    return 1;
}
finally
{
    if (!options.Keep)
        work.Delete(recursive: true);
}
