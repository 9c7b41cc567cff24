using System.CommandLine;
using Marketplace.Client;

namespace Marketplace.Cli.Commands;

/// <summary>
/// <c>mkt events mirror FILE</c>: appends the audit feed to a file of CloudEvents lines, resuming after the last
/// sequence already in it and following <c>X-Last-Sequence</c> until the feed is exhausted. Lines are written exactly
/// as served, so the mirror can be proven against the transparency log (<c>mkt log verify --events FILE</c>).
/// </summary>
internal static class EventsCommands
{
    public static Command Create(GlobalOptions options, CliContext context)
    {
        var events = new Command("events", "Read the registry's audit feed.");
        var file = new Argument<string>("file") { Description = "The mirror file (created, or resumed from its last line)" };
        var limit = new Option<int>("--page-size") { Description = "Events per request (1–1000)", DefaultValueFactory = _ => 1000 };
        var mirror = new Command("mirror", "Append every event after the file's last one.") { file, limit };
        MktApp.Bind(mirror, options, context, async (run, ct) =>
        {
            var path = run.Context.Resolve(run.Value(file)!);
            var after = await LastSequenceAsync(path, ct);
            var start = after;
            using var client = run.Settings.Client();
            long written = 0;
            await using var output = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read, 64 * 1024, FileOptions.Asynchronous);
            while (true)
            {
                var page = await client.GetEventsAsync(after, run.Value(limit), ct);
                foreach (var e in page.Events)
                {
                    await output.WriteAsync(e.Line, ct);
                    output.WriteByte((byte)'\n');
                    written++;
                }
                await output.FlushAsync(ct);
                if (page.IsEnd || page.LastSequence < after) break;
                after = page.LastSequence;
            }
            if (run.Output.Json)
                run.Output.WriteJson(new { file = path, resumedAfter = start, events = written, lastSequence = after });
            else
                run.Output.Success($"{written} event(s) appended to {path} (resumed after sequence {start}, now through {after})");
            return ExitCodes.Ok;
        });
        events.Add(mirror);
        return events;
    }

    /// <summary>The sequence of the file's last line (read from the end), or 0 for a missing or empty file.</summary>
    internal static async Task<long> LastSequenceAsync(string path, CancellationToken ct)
    {
        if (!File.Exists(path)) return 0;
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.Asynchronous);
        var end = stream.Length;
        while (end > 0)
        {
            // Skip trailing newlines, then find the start of the last line.
            var tail = await ReadAsync(stream, Math.Max(0, end - 1), 1, ct);
            if (tail[0] != (byte)'\n') break;
            end--;
        }
        if (end == 0) return 0;
        var start = end;
        const int chunk = 64 * 1024;
        while (start > 0)
        {
            var from = Math.Max(0, start - chunk);
            var bytes = await ReadAsync(stream, from, (int)(start - from), ct);
            var newline = Array.LastIndexOf(bytes, (byte)'\n');
            if (newline >= 0)
            {
                start = from + newline + 1;
                break;
            }
            start = from;
        }
        var line = await ReadAsync(stream, start, (int)(end - start), ct);
        try
        {
            return RegistryEvent.Parse(line).Sequence;
        }
        catch (FormatException e)
        {
            throw new UsageException($"The last line of {path} is not an event ({e.Message}); truncate the partial line and run again.");
        }
    }

    private static async Task<byte[]> ReadAsync(FileStream stream, long offset, int count, CancellationToken ct)
    {
        var buffer = new byte[count];
        stream.Position = offset;
        await stream.ReadExactlyAsync(buffer, ct);
        return buffer;
    }
}
