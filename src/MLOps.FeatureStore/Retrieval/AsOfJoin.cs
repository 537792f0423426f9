using System.Numerics;

namespace MLOps.FeatureStore.Retrieval;

/// <summary>
/// The point-in-time (as-of, backward) join: for each left row (an entity and an instant), the right row (a feature
/// row) of the same entity with the latest timestamp at or before the left row's, as pandas' <c>merge_asof(...,
/// direction="backward")</c> and DuckDB's <c>ASOF JOIN ... ON l.ts &gt;= r.ts</c> do.
/// </summary>
/// <remarks>
/// The right rows are grouped by entity id and sorted by timestamp in linear time (a stable LSD radix sort of the
/// timestamps, skipped when they are already in order, then a counting sort of the ids); among right rows of equal
/// entity and timestamp only the latest ingested one is kept. Each left row is then a binary search in its entity's
/// rows. No comparison sort, no per-row allocation.
/// </remarks>
internal static class AsOfJoin
{
    private const int DigitBits = 11;
    private const int Radix = 1 << DigitBits;

    /// <summary>Finds, for each left row, the matching right row.</summary>
    /// <param name="leftIds">The left rows' entity ids (from the <see cref="EntityKeyIndex"/> shared with the right side); -1 matches nothing.</param>
    /// <param name="leftTs">The left rows' timestamps (microseconds since the Unix epoch, UTC).</param>
    /// <param name="rightIds">The right rows' entity ids; -1 rows are ignored.</param>
    /// <param name="rightTs">The right rows' timestamps.</param>
    /// <param name="rightOrder">
    /// The right rows' ingestion order: among right rows of equal entity and timestamp, the one with the greatest order
    /// wins (and of equal orders, the later row). Empty: the row position is the order (the last row wins).
    /// </param>
    /// <param name="toleranceMicros">
    /// The oldest a match may be: a right row with <c>leftTs - ts &gt; toleranceMicros</c> is no match (a match exactly
    /// <paramref name="toleranceMicros"/> old is one). Null: no limit.
    /// </param>
    /// <returns>For each left row, the position of its right row, or -1.</returns>
    /// <exception cref="ArgumentException">The lengths of the left or right spans differ.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="toleranceMicros"/> is negative.</exception>
    public static int[] Match(
        ReadOnlySpan<int> leftIds,
        ReadOnlySpan<long> leftTs,
        ReadOnlySpan<int> rightIds,
        ReadOnlySpan<long> rightTs,
        ReadOnlySpan<long> rightOrder,
        long? toleranceMicros)
    {
        if (leftIds.Length != leftTs.Length)
            throw new ArgumentException($"The left side has {leftIds.Length} ids but {leftTs.Length} timestamps.", nameof(leftTs));
        if (rightIds.Length != rightTs.Length)
            throw new ArgumentException($"The right side has {rightIds.Length} ids but {rightTs.Length} timestamps.", nameof(rightTs));
        if (!rightOrder.IsEmpty && rightOrder.Length != rightIds.Length)
            throw new ArgumentException($"The right side has {rightIds.Length} rows but {rightOrder.Length} orders; pass one per row, or none for the row order.", nameof(rightOrder));
        if (toleranceMicros is < 0)
            throw new ArgumentOutOfRangeException(nameof(toleranceMicros), toleranceMicros, "The tolerance cannot be negative.");

        var result = new int[leftIds.Length];
        var right = SortedRight.Build(rightIds, rightTs, rightOrder);
        var tolerance = toleranceMicros is { } t ? (ulong)t : ulong.MaxValue;
        var starts = right.Starts;
        var ts = right.Ts.AsSpan();
        var rows = right.Rows;
        for (var i = 0; i < result.Length; i++)
        {
            var id = leftIds[i];
            if ((uint)id >= (uint)(starts.Length - 1))
            {
                result[i] = -1;
                continue;
            }

            var lo = starts[id];
            var bucket = ts[lo..starts[id + 1]];
            var at = leftTs[i];
            var found = bucket.BinarySearch(at); // timestamps are unique within an entity once ties are resolved
            var pos = found >= 0 ? found : ~found - 1;
            result[i] = pos >= 0 && unchecked((ulong)(at - bucket[pos])) <= tolerance ? rows[lo + pos] : -1;
        }

        return result;
    }

    /// <summary>The right rows grouped by entity id, each group sorted by timestamp with unique timestamps.</summary>
    private sealed class SortedRight
    {
        private SortedRight(int[] starts, long[] ts, int[] rows)
        {
            Starts = starts;
            Ts = ts;
            Rows = rows;
        }

        /// <summary>Entity id <c>i</c>'s rows are at <c>[Starts[i], Starts[i + 1])</c>.</summary>
        public int[] Starts { get; }

        public long[] Ts { get; }

        public int[] Rows { get; }

        public static SortedRight Build(ReadOnlySpan<int> ids, ReadOnlySpan<long> ts, ReadOnlySpan<long> order)
        {
            // The rows that can match, their timestamp range and whether they are already in timestamp order.
            var maxId = -1;
            var valid = 0;
            var min = long.MaxValue;
            var max = long.MinValue;
            var sorted = true;
            var previous = long.MinValue;
            for (var r = 0; r < ids.Length; r++)
            {
                var id = ids[r];
                if (id < 0) continue;
                valid++;
                if (id > maxId) maxId = id;
                var t = ts[r];
                if (t < min) min = t;
                if (t > max) max = t;
                if (t < previous) sorted = false;
                previous = t;
            }

            var rows = GC.AllocateUninitializedArray<int>(valid);
            if (valid == 0)
                return new SortedRight([0], [], rows);

            var n = 0;
            for (var r = 0; r < ids.Length; r++)
            {
                if (ids[r] >= 0) rows[n++] = r;
            }

            if (!sorted) rows = RadixSortByTimestamp(rows, ts, min, max);

            // A stable counting sort by id keeps each id's rows in timestamp order.
            var starts = new int[maxId + 2];
            foreach (var r in rows) starts[ids[r] + 1]++;
            for (var i = 1; i < starts.Length; i++) starts[i] += starts[i - 1];
            var next = starts.AsSpan(0, maxId + 1).ToArray();
            var byId = GC.AllocateUninitializedArray<int>(valid);
            foreach (var r in rows) byId[next[ids[r]]++] = r;

            // One row per (id, timestamp): the latest ingested; the groups are compacted in place.
            var sortedTs = GC.AllocateUninitializedArray<long>(valid);
            var write = 0;
            for (var id = 0; id <= maxId; id++)
            {
                var begin = starts[id];
                var end = starts[id + 1];
                starts[id] = write;
                for (var k = begin; k < end; k++)
                {
                    var r = byId[k];
                    var t = ts[r];
                    if (write > starts[id] && sortedTs[write - 1] == t)
                    {
                        // rows of equal timestamps are in row order (the sorts are stable): a later row wins unless its order is lower
                        if (order.IsEmpty || order[r] >= order[byId[write - 1]]) byId[write - 1] = r;
                        continue;
                    }

                    sortedTs[write] = t;
                    byId[write++] = r;
                }
            }

            starts[maxId + 1] = write;
            return new SortedRight(starts, sortedTs, byId);
        }

        /// <summary>Sorts row positions by timestamp, stably: a least-significant-digit radix sort of <c>ts - min</c>, 11 bits a pass.</summary>
        private static int[] RadixSortByTimestamp(int[] rows, ReadOnlySpan<long> ts, long min, long max)
        {
            var range = unchecked((ulong)(max - min));
            var passes = (64 - BitOperations.LeadingZeroCount(range) + DigitBits - 1) / DigitBits;
            var n = rows.Length;
            var keys = GC.AllocateUninitializedArray<ulong>(n);
            var histograms = new int[passes * Radix];
            for (var i = 0; i < n; i++)
            {
                var key = unchecked((ulong)(ts[rows[i]] - min));
                keys[i] = key;
                for (var p = 0; p < passes; p++)
                    histograms[(p * Radix) + (int)((key >> (p * DigitBits)) & (Radix - 1))]++;
            }

            var keysOut = GC.AllocateUninitializedArray<ulong>(n);
            var rowsOut = GC.AllocateUninitializedArray<int>(n);
            for (var p = 0; p < passes; p++)
            {
                var counts = histograms.AsSpan(p * Radix, Radix);
                var shift = p * DigitBits;
                if (counts[(int)((keys[0] >> shift) & (Radix - 1))] == n) continue; // every key has the same digit

                var sum = 0;
                for (var d = 0; d < Radix; d++)
                {
                    var c = counts[d];
                    counts[d] = sum;
                    sum += c;
                }

                for (var i = 0; i < n; i++)
                {
                    var key = keys[i];
                    var to = counts[(int)((key >> shift) & (Radix - 1))]++;
                    keysOut[to] = key;
                    rowsOut[to] = rows[i];
                }

                (keys, keysOut) = (keysOut, keys);
                (rows, rowsOut) = (rowsOut, rows);
            }

            return rows;
        }
    }
}
