using System.Globalization;
using System.Text;
using System.Text.Json;
using MLOps.Artifacts;
using MLOps.FeatureStore.Internal;

namespace MLOps.FeatureStore.Tests.TestSupport;

/// <summary>One flight of flights-20k.json.</summary>
public sealed record Flight(string Date, long Delay, long Distance, string Origin, string Destination)
{
    /// <summary>The event time, UTC.</summary>
    public DateTime Time => DateTime.SpecifyKind(DateTime.ParseExact(Date, "yyyy'/'MM'/'dd HH':'mm", CultureInfo.InvariantCulture), DateTimeKind.Utc);

    /// <summary>The event time in microseconds since the epoch.</summary>
    public long Micros => (Time.Ticks - DateTime.UnixEpoch.Ticks) / 10;

    /// <summary>As a push event.</summary>
    public IReadOnlyDictionary<string, object?> ToEvent() => new Dictionary<string, object?>
    {
        ["date"] = Date, ["delay"] = Delay, ["distance"] = Distance, ["origin"] = Origin, ["destination"] = Destination,
    };
}

/// <summary>A flight as a POCO whose property names are the JSON column names (for DataSource.Objects).</summary>
#pragma warning disable IDE1006 // lower-case names on purpose: they are the column names
public sealed class FlightRow
{
    public DateTime date { get; init; }

    public long delay { get; init; }

    public long distance { get; init; }

    public string origin { get; init; } = "";

    public string destination { get; init; } = "";

    public static FlightRow From(Flight f) => new() { date = f.Time, delay = f.Delay, distance = f.Distance, origin = f.Origin, destination = f.Destination };
}
#pragma warning restore IDE1006

/// <summary>The 20k flights, parsed once, and writers of the same rows in other formats.</summary>
public static class FlightData
{
    private static readonly Lazy<Flight[]> LazyAll = new(Load);

    /// <summary>Every flight in file order.</summary>
    public static IReadOnlyList<Flight> All => LazyAll.Value;

    private static Flight[] Load()
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(TestProjects.FlightsJson));
        return doc.RootElement.EnumerateArray().Select(e => new Flight(
            e.GetProperty("date").GetString()!, e.GetProperty("delay").GetInt64(), e.GetProperty("distance").GetInt64(),
            e.GetProperty("origin").GetString()!, e.GetProperty("destination").GetString()!)).ToArray();
    }

    public static long Micros(DateTimeOffset d) => (d.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10;

    public static DateTimeOffset FromMicros(long micros) => DateTimeOffset.UnixEpoch.AddTicks(micros * 10);

    private static string Json(Flight f)
        => string.Create(CultureInfo.InvariantCulture, $"{{\"date\":\"{f.Date}\",\"delay\":{f.Delay},\"distance\":{f.Distance},\"origin\":\"{f.Origin}\",\"destination\":\"{f.Destination}\"}}");

    public static string WriteJsonArray(string path, IEnumerable<Flight> flights)
    {
        File.WriteAllText(path, "[" + string.Join(",", flights.Select(Json)) + "]");
        return path;
    }

    public static string WriteJsonLines(string path, IEnumerable<Flight> flights)
    {
        File.WriteAllText(path, string.Join("\n", flights.Select(Json)) + "\n");
        return path;
    }

    public static string WriteCsv(string path, IEnumerable<Flight> flights)
    {
        var sb = new StringBuilder("date,delay,distance,origin,destination\n");
        foreach (var f in flights)
            sb.Append(CultureInfo.InvariantCulture, $"{f.Date},{f.Delay},{f.Distance},{f.Origin},{f.Destination}\n");
        File.WriteAllText(path, sb.ToString());
        return path;
    }

    /// <summary>The flights as one record batch: date as timestamp[us, UTC], delay and distance int64, strings.</summary>
    public static RecordBatch ToBatch(IReadOnlyList<Flight> flights)
        => new RecordBatch.Builder()
            .Append("date", true, Arrays.Timestamps(flights.Select(f => f.Micros).ToArray(), Enumerable.Repeat(true, flights.Count).ToArray()))
            .Append("delay", true, new Int64Array.Builder().AppendRange(flights.Select(f => f.Delay)).Build())
            .Append("distance", true, new Int64Array.Builder().AppendRange(flights.Select(f => f.Distance)).Build())
            .Append("origin", true, new StringArray.Builder().AppendRange(flights.Select(f => f.Origin)).Build())
            .Append("destination", true, new StringArray.Builder().AppendRange(flights.Select(f => f.Destination)).Build())
            .Build();

    /// <summary>The flights as record batches of at most <paramref name="size"/> rows.</summary>
    public static IEnumerable<RecordBatch> ToBatches(IReadOnlyList<Flight> flights, int size)
    {
        for (var i = 0; i < flights.Count; i += size)
            yield return ToBatch(flights.Skip(i).Take(size).ToArray());
    }

    public static async Task<string> WriteParquetAsync(string path, IReadOnlyList<Flight> flights, int rowGroup = 5000)
    {
        await using var stream = File.Create(path);
        await DatasetWriter.WriteParquetAsync(ToBatches(flights, rowGroup), stream, CancellationToken.None);
        return path;
    }

    public static async Task<string> WriteArrowAsync(string path, IReadOnlyList<Flight> flights, int batch = 5000)
    {
        await using var stream = File.Create(path);
        await DatasetWriter.WriteArrowFileAsync(ToBatches(flights, batch), stream, CancellationToken.None);
        return path;
    }
}

/// <summary>Reads what a feature set holds offline.</summary>
public static class OfflineRows
{
    /// <summary>The committed Parquet files of a set.</summary>
    public static string[] Files(FeatureStoreCatalog fs, string set)
    {
        var root = fs.SetRoot(set);
        return Directory.Exists(root) ? Directory.GetFiles(root, "*.parquet", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToArray() : [];
    }

    /// <summary>Every offline row of a set as column → boxed value, in ingestion order (the order column removed).</summary>
    public static async Task<List<Dictionary<string, object?>>> ReadAsync(FeatureStoreCatalog fs, string set)
    {
        var rows = new List<(long Order, Dictionary<string, object?> Row)>();
        foreach (var file in Files(fs, set))
        {
            await foreach (var batch in DatasetReader.ReadAsync(file, DatasetFormat.Parquet))
            {
                using (batch)
                {
                    for (var i = 0; i < batch.Length; i++)
                    {
                        var row = new Dictionary<string, object?>(StringComparer.Ordinal);
                        long order = 0;
                        for (var c = 0; c < batch.ColumnCount; c++)
                        {
                            var name = batch.Schema.GetFieldByIndex(c).Name;
                            var value = Arrays.ValueAt(batch.Column(c), i).ToObject();
                            if (name == "_ingest_order") order = (long)value!;
                            else row[name] = value;
                        }

                        rows.Add((order, row));
                    }
                }
            }
        }

        return rows.OrderBy(r => r.Order).Select(r => r.Row).ToList();
    }
}
