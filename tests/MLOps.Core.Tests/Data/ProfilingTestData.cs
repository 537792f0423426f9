using System.Globalization;
using System.Text;
using System.Text.Json;
using Apache.Arrow;
using Apache.Arrow.Types;
using MLOps.Artifacts;

namespace MLOps.Core.Tests.Data;

/// <summary>One record of <c>data/flights-20k.json</c>.</summary>
public sealed record Flight(string Date, int Delay, int Distance, string Origin, string Destination)
{
    /// <summary>The date as UTC (the file has no offset).</summary>
    public DateTimeOffset When => DateTimeOffset.ParseExact(Date, "yyyy/MM/dd HH:mm", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);
}

/// <summary>The flights data set and ways to write it as CSV or Arrow batches, plus independent statistics.</summary>
public static class ProfilingTestData
{
    private static readonly Lazy<IReadOnlyList<Flight>> LazyFlights = new(LoadFlights);

    public static string FlightsJsonPath => Path.Combine(TestContext.CurrentContext.TestDirectory, "data", "flights-20k.json");

    /// <summary>The 20,000 flights, parsed once per test run (read-only, shared by parallel tests).</summary>
    public static IReadOnlyList<Flight> Flights => LazyFlights.Value;

    private static IReadOnlyList<Flight> LoadFlights()
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(FlightsJsonPath));
        return document.RootElement.EnumerateArray()
            .Select(e => new Flight(
                e.GetProperty("date").GetString()!,
                e.GetProperty("delay").GetInt32(),
                e.GetProperty("distance").GetInt32(),
                e.GetProperty("origin").GetString()!,
                e.GetProperty("destination").GetString()!))
            .ToList();
    }

    /// <summary>Writes the flights as a CSV file with a header row.</summary>
    public static void WriteFlightsCsv(string path)
    {
        var text = new StringBuilder("date,delay,distance,origin,destination\n");
        foreach (var f in Flights)
            text.Append(CultureInfo.InvariantCulture, $"{f.Date},{f.Delay},{f.Distance},{f.Origin},{f.Destination}\n");
        File.WriteAllText(path, text.ToString());
    }

    /// <summary>The flights as Arrow batches built directly (not through the CSV reader): int32 numbers, ms timestamps.</summary>
    public static IEnumerable<RecordBatch> FlightBatches(int batchSize)
    {
        var schema = new Schema.Builder()
            .Field(f => f.Name("date").DataType(new TimestampType(TimeUnit.Millisecond, "UTC")).Nullable(false))
            .Field(f => f.Name("delay").DataType(Int32Type.Default).Nullable(false))
            .Field(f => f.Name("distance").DataType(Int32Type.Default).Nullable(false))
            .Field(f => f.Name("origin").DataType(StringType.Default).Nullable(false))
            .Field(f => f.Name("destination").DataType(StringType.Default).Nullable(false))
            .Build();
        foreach (var chunk in Flights.Chunk(batchSize))
        {
            var date = new TimestampArray.Builder(new TimestampType(TimeUnit.Millisecond, "UTC"));
            var delay = new Int32Array.Builder();
            var distance = new Int32Array.Builder();
            var origin = new StringArray.Builder();
            var destination = new StringArray.Builder();
            foreach (var f in chunk)
            {
                date.Append(f.When);
                delay.Append(f.Delay);
                distance.Append(f.Distance);
                origin.Append(f.Origin);
                destination.Append(f.Destination);
            }

            yield return new RecordBatch(schema, [date.Build(), delay.Build(), distance.Build(), origin.Build(), destination.Build()], chunk.Length);
        }
    }

    /// <summary>Reads every batch of a file into memory (tests only: small files).</summary>
    public static async Task<List<RecordBatch>> ReadAllAsync(string path, DatasetFormat format, int batchSize = DatasetReader.DefaultBatchSize)
    {
        var batches = new List<RecordBatch>();
        await foreach (var batch in DatasetReader.ReadAsync(path, format, batchSize))
            batches.Add(batch);
        return batches;
    }

    /// <summary>pandas' default quantile (linear interpolation between closest ranks), written independently with LINQ.</summary>
    public static double Quantile(IEnumerable<double> values, double q)
    {
        var sorted = values.OrderBy(v => v).ToArray();
        var h = (sorted.Length - 1) * q;
        var below = sorted[(int)Math.Floor(h)];
        var above = sorted[(int)Math.Ceiling(h)];
        return below + ((h - Math.Floor(h)) * (above - below));
    }

    /// <summary>Sample standard deviation (n - 1) with LINQ.</summary>
    public static double SampleStd(IReadOnlyCollection<double> values)
    {
        var mean = values.Average();
        return Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Count - 1));
    }

    /// <summary>Every row of a column of batches, as preview-style scalars.</summary>
    public static List<object?> Column(IEnumerable<RecordBatch> batches, string name)
    {
        var values = new List<object?>();
        foreach (var batch in batches)
        {
            var array = batch.Column(name);
            for (var i = 0; i < batch.Length; i++)
                values.Add(Scalar(array, i));
        }

        return values;
    }

    private static object? Scalar(IArrowArray array, int i) => array.IsNull(i) ? null : array switch
    {
        Int32Array a => a.GetValue(i),
        Int64Array a => a.GetValue(i),
        FloatArray a => a.GetValue(i),
        DoubleArray a => a.GetValue(i),
        BooleanArray a => a.GetValue(i),
        StringArray a => a.GetString(i),
        TimestampArray a => a.GetTimestamp(i),
        Date32Array a => a.GetDateOnly(i),
        _ => throw new NotSupportedException(array.GetType().Name),
    };
}
