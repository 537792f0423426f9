using Apache.Arrow;
using Apache.Arrow.Types;
using DuckDB.NET.Data;
using MLOps.Artifacts;

namespace MLOps.Benchmarks;

/// <summary>
/// The point-in-time join benchmarks' shared synthetic data: 1M feature rows (300 string keys "E0".."E299", random
/// microsecond timestamps over a year, 2 double features) and 100k entity rows (a key and an instant; 10% of the keys
/// have no feature row, "X0".."X29", and the instants span a week more than the features on each side), and the
/// DuckDB side's setup and the same-result check.
/// </summary>
internal static class PointInTimeData
{
    public const int FeatureRows = 1_000_000;
    public const int EntityRows = 100_000;
    public const int Keys = 300;
    public const int ChunkRows = 65_536;
    public const long Start = 1_704_067_200_000_000; // 2024-01-01T00:00:00Z in microseconds
    public const long Year = 366L * 24 * 3600 * 1_000_000;
    public const long Week = 7L * 24 * 3600 * 1_000_000;
    public static readonly TimestampType Micros = new(TimeUnit.Microsecond, "UTC");

    /// <summary>A random feature row, its values drawn from <paramref name="random"/> in the order key, timestamp, f1, f2.</summary>
    public static (int Key, long Ts, double F1, double F2) RandomRow(Random random) =>
        (random.Next(Keys), Start + random.NextInt64(Year), random.NextDouble(), random.NextDouble() * 100);

    /// <summary>The <see cref="FeatureRows"/> feature rows <paramref name="next"/> returns, in order, cut into 64k-row
    /// batches (key, ts, f1, f2).</summary>
    public static List<RecordBatch> FeatureBatches(Func<(int Key, long Ts, double F1, double F2)> next)
    {
        var batches = new List<RecordBatch>();
        for (var from = 0; from < FeatureRows; from += ChunkRows)
        {
            var n = Math.Min(ChunkRows, FeatureRows - from);
            var key = new StringArray.Builder();
            var ts = new TimestampArray.Builder(Micros).Reserve(n);
            var f1 = new DoubleArray.Builder().Reserve(n);
            var f2 = new DoubleArray.Builder().Reserve(n);
            for (var i = 0; i < n; i++)
            {
                var row = next();
                key.Append($"E{row.Key}");
                ts.Append(DateTimeOffset.UnixEpoch.AddTicks(row.Ts * 10));
                f1.Append(row.F1);
                f2.Append(row.F2);
            }

            batches.Add(new RecordBatch.Builder()
                .Append("key", false, key.Build())
                .Append("ts", false, ts.Build())
                .Append("f1", false, f1.Build())
                .Append("f2", false, f2.Build())
                .Build());
        }

        return batches;
    }

    /// <summary>The <see cref="EntityRows"/> entity rows (key, ts) as one batch.</summary>
    public static RecordBatch EntityBatch(Random random)
    {
        var key = new StringArray.Builder();
        var ts = new TimestampArray.Builder(Micros).Reserve(EntityRows);
        for (var i = 0; i < EntityRows; i++)
        {
            key.Append(random.Next(10) == 0 ? $"X{random.Next(30)}" : $"E{random.Next(Keys)}");
            ts.Append(DateTimeOffset.UnixEpoch.AddTicks((Start - Week + random.NextInt64(Year + (2 * Week))) * 10));
        }

        return new RecordBatch.Builder().Append("key", false, key.Build()).Append("ts", false, ts.Build()).Build();
    }

    /// <summary>Writes <paramref name="batches"/> to a Parquet file at <paramref name="path"/>.</summary>
    public static async Task WriteParquetAsync(string path, IReadOnlyList<RecordBatch> batches)
    {
        var stream = File.Create(path);
        await using (stream.ConfigureAwait(false))
            await DatasetWriter.WriteParquetAsync(batches, stream, CancellationToken.None).ConfigureAwait(false);
    }

    /// <summary>An in-memory DuckDB connection with <paramref name="loadSql"/> run on it.</summary>
    public static DuckDBConnection OpenDuckDb(string loadSql)
    {
        var duck = new DuckDBConnection("Data Source=:memory:");
        duck.Open();
        using var load = duck.CreateCommand();
        load.CommandText = loadSql;
        load.ExecuteNonQuery();
        return duck;
    }

    /// <summary>Throws unless DuckDB's result has every entity row, most but not all matched, and every other side
    /// matched the same rows with the same sums (so every side does the same work).</summary>
    public static void CheckSameResults(JoinResult duck, IEnumerable<JoinResult> others)
    {
        if (duck.Rows != EntityRows || duck.Matched < EntityRows / 2 || duck.Matched == EntityRows)
            throw new InvalidOperationException($"DuckDB returned {duck.Rows} rows, {duck.Matched} matched; the data should give {EntityRows} rows, most but not all matched.");
        foreach (var r in others)
        {
            if (r.Rows != duck.Rows || r.Matched != duck.Matched || Math.Abs(r.Sum1 - duck.Sum1) > 1e-6 * Math.Abs(duck.Sum1) || Math.Abs(r.Sum2 - duck.Sum2) > 1e-6 * Math.Abs(duck.Sum2))
                throw new InvalidOperationException($"The joins disagree: DuckDB {duck}, other {r}.");
        }
    }
}
