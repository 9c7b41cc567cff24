using System.CommandLine;
using Marketplace.Client;

namespace Marketplace.Cli.Commands;

/// <summary>
/// <c>mkt log checkpoint</c> verifies the latest checkpoint (signature under the pinned key, consistency with the kept
/// one) and keeps it; <c>mkt log verify</c> proves events included: a package's whole history, or every line of a
/// mirror file.
/// </summary>
internal static class LogCommands
{
    public static Command Create(GlobalOptions options, CliContext context)
    {
        var log = new Command("log", "Check the registry's transparency log.");

        var checkpoint = new Command("checkpoint", "Fetch, verify and keep the latest signed checkpoint.");
        MktApp.Bind(checkpoint, options, context, async (run, ct) =>
        {
            using var client = run.Settings.Client();
            var kept = await client.Log.KeptCheckpointAsync(ct);
            var verified = await client.Log.VerifyLatestCheckpointAsync(ct);
            if (run.Output.Json)
            {
                run.Output.WriteJson(new { verified.Origin, verified.TreeSize, rootHash = verified.RootHashBase64, previousTreeSize = kept?.TreeSize, verified.Note });
                return ExitCodes.Ok;
            }
            run.Output.Success($"checkpoint of {verified.Origin}: {verified.TreeSize} entries, root {verified.RootHashBase64}");
            run.Output.Line(kept is null
                ? "signature verified under the registry key, pinned now (first use)"
                : $"signature verified under the pinned key; consistent with the kept checkpoint of {kept.TreeSize} entries");
            return ExitCodes.Ok;
        });

        var packages = new Argument<string[]>("packages") { Description = "Packages whose whole history to prove", Arity = ArgumentArity.ZeroOrMore };
        var file = new Option<string?>("--events") { Description = "A mirror file (from 'mkt events mirror') whose every logged line to prove" };
        var verify = new Command("verify", "Prove events included in the log under a verified checkpoint.") { packages, file };
        MktApp.Bind(verify, options, context, async (run, ct) =>
        {
            var names = run.Value(packages) ?? [];
            var mirror = run.Value(file);
            if (names.Length == 0 && mirror is null)
                throw new UsageException("Name packages, or give --events <file>.");
            using var client = run.Settings.Client();
            var results = new List<object>();
            foreach (var name in names)
            {
                var history = await client.GetPackageEventsAsync(name, ct);
                var checkpoint = await client.Log.VerifyIncludedAsync(history, ct);
                results.Add(new { package = name, events = history.Count(e => e.IsLogged), treeSize = checkpoint.TreeSize });
                if (!run.Output.Json)
                    run.Output.Success($"{name}: {history.Count(e => e.IsLogged)} event(s) proven in the log of {checkpoint.TreeSize} entries");
            }
            if (mirror is not null)
            {
                var path = run.Context.Resolve(mirror);
                var events = ((ReadOnlyMemory<byte>)await File.ReadAllBytesAsync(path, ct)).Split((byte)'\n').Select(RegistryEvent.Parse).ToList();
                var checkpoint = await client.Log.VerifyIncludedAsync(events, ct);
                results.Add(new { file = path, events = events.Count(e => e.IsLogged), treeSize = checkpoint.TreeSize });
                if (!run.Output.Json)
                    run.Output.Success($"{path}: {events.Count(e => e.IsLogged)} logged event(s) proven in the log of {checkpoint.TreeSize} entries");
            }
            if (run.Output.Json) run.Output.WriteJson(results);
            return ExitCodes.Ok;
        });

        log.Add(checkpoint);
        log.Add(verify);
        return log;
    }
}

internal static class Lines
{
    /// <summary>The non-empty lines of a buffer, each as a slice of it (the bytes as they are: the log hashes them).</summary>
    public static IEnumerable<ReadOnlyMemory<byte>> Split(this ReadOnlyMemory<byte> buffer, byte separator)
    {
        while (buffer.Length > 0)
        {
            var at = buffer.Span.IndexOf(separator);
            var line = at < 0 ? buffer : buffer[..at];
            if (line.Length > 0) yield return line;
            buffer = at < 0 ? ReadOnlyMemory<byte>.Empty : buffer[(at + 1)..];
        }
    }
}
