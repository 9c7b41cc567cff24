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

    // A plain queue under a monitor: BlockingCollection's SemaphoreSlim spins before it sleeps, and eight idle
    // writers spinning took a quarter of the service's CPU in a profile of sixteen publishers.
    private static readonly Queue<Job> Queue = Start();

    /// <summary>Completes when <paramref name="path"/> (a new file) holds <paramref name="content"/> and is flushed to disk.</summary>
    public static Task WriteAsync(string path, ReadOnlyMemory<byte> content)
    {
        var job = new Job(path, content, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        lock (Queue)
        {
            Queue.Enqueue(job);
            Monitor.Pulse(Queue);
        }
        return job.Done.Task;
    }

    private static Queue<Job> Start()
    {
        var queue = new Queue<Job>();
        for (var i = 0; i < Threads; i++)
            new Thread(() => Run(queue)) { IsBackground = true, Name = $"blob-fsync-{i}" }.Start();
        return queue;
    }

    private static void Run(Queue<Job> queue)
    {
        while (true)
        {
            Job job;
            // Blocks this dedicated thread (not the pool's) until work arrives.
            lock (queue)
            {
                while (queue.Count == 0) Monitor.Wait(queue);
                job = queue.Dequeue();
            }
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
