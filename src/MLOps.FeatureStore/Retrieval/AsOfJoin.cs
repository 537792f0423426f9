using System.Numerics;

namespace MLOps.FeatureStore.Retrieval;

/// <summary>
/// The point-in-time (as-of, backward) join: for each left row (an entity and an instant), the right row (a feature
/// row) of the same entity with the latest timestamp at or before the left row's, as pandas' <c>merge_asof(...,
/// direction="backward")</c> and DuckDB's <c>ASOF JOIN ... ON l.ts &gt;= r.ts</c> do.
/// </summary>
/// <remarks>
/// The right rows are bucketed by entity id (a counting sort), then each bucket, small enough to stay in cache, is
/// sorted by timestamp: not at all when already in order (the usual case for ingested data), by insertion when tiny,
/// else by a least-significant-digit radix sort of <c>ts - bucket minimum</c>. All of these are stable, so rows of
/// equal entity and timestamp stay in row order; of those only the latest ingested is kept. The left rows are bucketed
/// and sorted the same way, then each entity's left run walks forward through its right run, galloping (doubling steps,
/// then a branch-free binary search), so the right run is read once, in order, while it is in cache. Linear in the rows
/// plus the radix passes; no per-row allocation.
/// </remarks>
internal static class AsOfJoin
{
    private const int InsertionSortMax = 32;

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

        // The left rows bucketed by id and sorted by timestamp the same way, then each entity's two sorted runs merged:
        // one forward walk over the right run (galloping) per left run. Left rows of an id the right side does not have
        // match nothing.
        result.AsSpan().Fill(-1);
        var left = Buckets.Create(leftIds, leftTs, right.Starts.Length - 1);
        var starts = right.Starts;
        var ts = right.Ts.AsSpan();
        var rows = right.Rows;
        for (var id = 0; id < left.Count; id++)
        {
            var lo = starts[id];
            var run = ts[lo..starts[id + 1]];
            var j = -1; // the last right row at or before the previous left row
            for (var k = left.Starts[id]; k < left.Starts[id + 1]; k++)
            {
                var at = left.Ts[k];
                var step = 1;
                while (j + step < run.Length && run[j + step] <= at)
                {
                    j += step;
                    step <<= 1;
                }

                var end = Math.Min(j + step, run.Length);
                var found = LastAtOrBefore(run[(j + 1)..end], at);
                if (found >= 0) j += 1 + found;
                if (j >= 0 && unchecked((ulong)(at - run[j])) <= tolerance) result[left.Rows[k]] = rows[lo + j];
            }
        }

        return result;
    }

    /// <summary>The position of the last timestamp at or before <paramref name="at"/> in sorted <paramref name="ts"/>, or -1: a
    /// binary search with a fixed number of steps and no data-dependent branch (the JIT emits conditional moves).</summary>
    private static int LastAtOrBefore(ReadOnlySpan<long> ts, long at)
    {
        if (ts.IsEmpty) return -1;
        var lo = 0;
        var length = ts.Length;
        while (length > 1)
        {
            var half = length >> 1;
            lo = ts[lo + half] <= at ? lo + half : lo;
            length -= half;
        }

        return ts[lo] <= at ? lo : -1;
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
            var buckets = Buckets.Create(ids, ts, int.MaxValue);
            var starts = buckets.Starts;
            var sortedTs = buckets.Ts;
            var sortedRows = buckets.Rows;

            // One row per (id, timestamp): the latest ingested; the buckets are compacted in place.
            var write = 0;
            for (var id = 0; id < buckets.Count; id++)
            {
                var begin = starts[id];
                var end = starts[id + 1];
                starts[id] = write;
                for (var k = begin; k < end; k++)
                {
                    var t = sortedTs[k];
                    var r = sortedRows[k];
                    if (write > starts[id] && sortedTs[write - 1] == t)
                    {
                        // rows of equal timestamps are in row order (the sorts are stable): a later row wins unless its order is lower
                        if (order.IsEmpty || order[r] >= order[sortedRows[write - 1]]) sortedRows[write - 1] = r;
                        continue;
                    }

                    sortedTs[write] = t;
                    sortedRows[write++] = r;
                }
            }

            starts[buckets.Count] = write;
            return new SortedRight(starts, sortedTs, sortedRows);
        }
    }

    /// <summary>Rows bucketed by id, each bucket sorted by timestamp; both stable, so equal timestamps stay in row order.</summary>
    private sealed class Buckets
    {
        private Buckets(int[] starts, long[] ts, int[] rows)
        {
            Starts = starts;
            Ts = ts;
            Rows = rows;
        }

        /// <summary>The number of ids: bucket <c>i</c> is <c>[Starts[i], Starts[i + 1])</c>.</summary>
        public int Count => Starts.Length - 1;

        public int[] Starts { get; }

        public long[] Ts { get; }

        public int[] Rows { get; }

        /// <summary>Buckets the rows whose id is from 0 to <paramref name="idLimit"/> - 1 (a counting sort in row order), then sorts each bucket.</summary>
        public static Buckets Create(ReadOnlySpan<int> ids, ReadOnlySpan<long> ts, int idLimit)
        {
            var maxId = -1;
            foreach (var id in ids)
            {
                if (id > maxId && id < idLimit) maxId = id;
            }

            var starts = new int[maxId + 2];
            foreach (var id in ids)
            {
                if ((uint)id < (uint)(maxId + 1)) starts[id + 1]++;
            }

            for (var i = 1; i < starts.Length; i++) starts[i] += starts[i - 1];
            var next = starts.AsSpan(0, maxId + 1).ToArray();
            var sortedTs = GC.AllocateUninitializedArray<long>(starts[^1]);
            var sortedRows = GC.AllocateUninitializedArray<int>(starts[^1]);
            for (var r = 0; r < ids.Length; r++)
            {
                var id = ids[r];
                if ((uint)id >= (uint)(maxId + 1)) continue;
                var to = next[id]++;
                sortedTs[to] = ts[r];
                sortedRows[to] = r;
            }

            var largest = 0;
            for (var id = 0; id <= maxId; id++) largest = Math.Max(largest, starts[id + 1] - starts[id]);
            var scratchTs = largest > InsertionSortMax ? GC.AllocateUninitializedArray<long>(largest) : [];
            var scratchRows = largest > InsertionSortMax ? GC.AllocateUninitializedArray<int>(largest) : [];
            Span<int> histograms = stackalloc int[8 * 256];
            for (var id = 0; id <= maxId; id++)
            {
                var range = starts[id]..starts[id + 1];
                SortBucket(sortedTs.AsSpan(range), sortedRows.AsSpan(range), scratchTs, scratchRows, histograms);
            }

            return new Buckets(starts, sortedTs, sortedRows);
        }

        /// <summary>Sorts one bucket's timestamps, with their rows, stably.</summary>
        private static void SortBucket(Span<long> ts, Span<int> rows, long[] scratchTs, int[] scratchRows, Span<int> histograms)
        {
            var n = ts.Length;
            if (n < 2) return;
            var min = ts[0];
            var max = ts[0];
            var sorted = true;
            for (var i = 1; i < n; i++)
            {
                var t = ts[i];
                if (t < max) sorted = false;
                else max = t;
                if (t < min) min = t;
            }

            if (sorted) return;
            if (n <= InsertionSortMax)
            {
                for (var i = 1; i < n; i++)
                {
                    var t = ts[i];
                    var r = rows[i];
                    var j = i - 1;
                    for (; j >= 0 && ts[j] > t; j--)
                    {
                        ts[j + 1] = ts[j];
                        rows[j + 1] = rows[j];
                    }

                    ts[j + 1] = t;
                    rows[j + 1] = r;
                }

                return;
            }

            // LSD radix sort of ts - min, a byte a pass (the histograms of all passes in one read), a pass skipped where
            // every key has the same byte.
            var range = unchecked((ulong)(max - min));
            var passes = (64 - BitOperations.LeadingZeroCount(range) + 7) / 8;
            var counts = histograms[..(passes * 256)];
            counts.Clear();
            foreach (var t in ts)
            {
                var key = unchecked((ulong)(t - min));
                for (var p = 0; p < passes; p++)
                    counts[(p << 8) | (int)((key >> (p << 3)) & 0xFF)]++;
            }

            Span<long> fromTs = ts;
            Span<int> fromRows = rows;
            Span<long> toTs = scratchTs.AsSpan(0, n);
            Span<int> toRows = scratchRows.AsSpan(0, n);
            for (var p = 0; p < passes; p++)
            {
                var pass = counts.Slice(p << 8, 256);
                var shift = p << 3;
                if (pass[(int)((unchecked((ulong)(fromTs[0] - min)) >> shift) & 0xFF)] == n) continue;

                var sum = 0;
                for (var d = 0; d < 256; d++)
                {
                    var c = pass[d];
                    pass[d] = sum;
                    sum += c;
                }

                for (var i = 0; i < n; i++)
                {
                    var t = fromTs[i];
                    var to = pass[(int)((unchecked((ulong)(t - min)) >> shift) & 0xFF)]++;
                    toTs[to] = t;
                    toRows[to] = fromRows[i];
                }

                var swapTs = fromTs;
                fromTs = toTs;
                toTs = swapTs;
                var swapRows = fromRows;
                fromRows = toRows;
                toRows = swapRows;
            }

            if (fromTs != ts)
            {
                fromTs.CopyTo(ts);
                fromRows.CopyTo(rows);
            }
        }
    }
}
