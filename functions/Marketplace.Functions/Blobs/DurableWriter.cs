using System.Collections.Concurrent;

namespace Marketplace.Functions.Blobs;

/// <summary>
/// Writes a file and fsyncs it on dedicated threads. <c>Flush(flushToDisk: true)</c> blocks for the disk's sync
/// (milliseconds); done inside an async method it holds a thread-pool thread per publish, and sixteen publishers
/// starve the pool. Here the waiting happens on a few threads of their own, several fsyncs in flight at once so the
/// file system's journal commits them together, and the caller awaits the outcome.
/// </summary>
internal static class DurableWriter
{
    private const int Threads = 8;

    private sealed record Job(string Path, ReadOnlyMemory<byte> Content, TaskCompletionSource Done);

    private static readonly BlockingCollection<Job> Queue = Start();

    /// <summary>Completes when <paramref name="path"/> (a new file) holds <paramref name="content"/> and is flushed to disk.</summary>
    public static Task WriteAsync(string path, ReadOnlyMemory<byte> content)
    {
        var job = new Job(path, content, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        Queue.Add(job);
        return job.Done.Task;
    }

    private static BlockingCollection<Job> Start()
    {
        var queue = new BlockingCollection<Job>(new ConcurrentQueue<Job>());
        for (var i = 0; i < Threads; i++)
            new Thread(() => Run(queue)) { IsBackground = true, Name = $"blob-fsync-{i}" }.Start();
        return queue;
    }

    private static void Run(BlockingCollection<Job> queue)
    {
        // Blocks this dedicated thread (not the pool's) until work arrives.
        foreach (var job in queue.GetConsumingEnumerable())
        {
            try
            {
                using (var file = new FileStream(job.Path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1))
                {
                    file.Write(job.Content.Span);
                    file.Flush(flushToDisk: true);
                }
                job.Done.TrySetResult();
            }
            catch (Exception e)
            {
                job.Done.TrySetException(e);
            }
        }
    }
}
