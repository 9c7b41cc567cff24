using System.Diagnostics;

namespace Marketplace.Testing;

/// <summary>
/// Waiting on something a test can observe, never on the clock alone: the condition is checked every
/// <c>interval</c> until it holds or the bound passes (then the test fails, saying what it waited for).
/// </summary>
public static class Poll
{
    public static async Task UntilAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null, TimeSpan? interval = null)
    {
        var bound = timeout ?? TimeSpan.FromSeconds(30);
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > bound) throw new TimeoutException($"Still not true after {bound.TotalSeconds:0.#} s: {what}");
            await Task.Delay(interval ?? TimeSpan.FromMilliseconds(50));
        }
    }

    public static Task UntilAsync(Func<bool> condition, string what, TimeSpan? timeout = null, TimeSpan? interval = null) =>
        UntilAsync(() => Task.FromResult(condition()), what, timeout, interval);
}
