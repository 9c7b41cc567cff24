using System.Text;
using Marten;

namespace Marketplace.Projections;

/// <summary>
/// Queues rows as multi-row <c>insert … values (…), (…) [suffix]</c> commands on a projection's session, a few
/// hundred rows per statement: how the counter and log tables write a daemon batch in a handful of round trips.
/// </summary>
public static class MultiRowInsert
{
    public const int RowsPerStatement = 200;

    /// <param name="into">The table and its column list, e.g. <c>schema.t (a, b)</c>.</param>
    /// <param name="row">One row's values with a <c>?</c> per parameter, e.g. <c>(?, ?)</c> or <c>(?, nullif(?, ''), 'pending')</c>.</param>
    /// <param name="rows">Each row's parameters, as many as <paramref name="row"/> has <c>?</c>.</param>
    /// <param name="suffix">What follows the values, e.g. an <c>on conflict</c> clause.</param>
    public static void Queue(IDocumentOperations operations, string into, string row, IEnumerable<object?[]> rows, string suffix = "")
    {
        foreach (var chunk in rows.Chunk(RowsPerStatement))
        {
            var sql = new StringBuilder($"insert into {into} values ");
            for (var i = 0; i < chunk.Length; i++)
                sql.Append(i == 0 ? "" : ", ").Append(row);
            if (suffix.Length > 0) sql.Append(' ').Append(suffix);
            operations.QueueSqlCommand(sql.ToString(), chunk.SelectMany(r => r).ToArray()!);
        }
    }
}
