// Shared by samples/QuickStart and samples/ServingHost (each project links it with <Compile Include="../Shared/FlightModel.cs" />):
// the delay model's input and output rows, and the Open Inference Protocol requests the served model answers.
using System.Text.Json;
using Microsoft.ML.Data;
using MLOps.FeatureStore.Vectors;

/// <summary>
/// The delay model's input: a flight (origin, destination, distance, hour, weekday) and its origin's features (the
/// delay-features vector). A serving request carries the flight's own fields; the serving graph adds the features.
/// </summary>
public class FlightInput
{
    /// <summary>The numeric columns of the model (origin and destination are one-hot encoded).</summary>
    public static readonly string[] Numeric = ["distance", "hour", "day_of_week", "delay_avg_1h", "delay_max_1h", "delay_count_1h", "delay_avg_1d", "origin_lat", "origin_lon"];

    [ColumnName("origin")] public string Origin { get; set; } = "";
    [ColumnName("destination")] public string Destination { get; set; } = "";
    [ColumnName("distance")] public float Distance { get; set; }
    [ColumnName("hour")] public float Hour { get; set; }
    [ColumnName("day_of_week")] public float DayOfWeek { get; set; }
    [ColumnName("delay_avg_1h")] public float DelayAvg1h { get; set; }
    [ColumnName("delay_max_1h")] public float DelayMax1h { get; set; }
    [ColumnName("delay_count_1h")] public float DelayCount1h { get; set; }
    [ColumnName("delay_avg_1d")] public float DelayAvg1d { get; set; }
    [ColumnName("origin_lat")] public float OriginLat { get; set; }
    [ColumnName("origin_lon")] public float OriginLon { get; set; }

    /// <summary>A new flight with its origin's online features.</summary>
    public static FlightInput From(Departure flight, FeatureRow online) => new()
    {
        Origin = flight.Origin,
        Destination = flight.Destination,
        Distance = flight.Distance,
        Hour = flight.When.Hour,
        DayOfWeek = (float)flight.When.DayOfWeek,
        DelayAvg1h = (float)online.GetDouble("delay_avg_1h"),
        DelayMax1h = (float)online.GetDouble("delay_max_1h"),
        DelayCount1h = (float)online.GetDouble("delay_count_1h"),
        DelayAvg1d = (float)online.GetDouble("delay_avg_1d"),
        OriginLat = (float)online.GetDouble("origin_lat"),
        OriginLon = (float)online.GetDouble("origin_lon"),
    };
}

/// <summary>A training row: a flight, its origin's features as they were a minute before it left, and the label.</summary>
public sealed class FlightFeatures : FlightInput
{
    [ColumnName("is_delayed")] public bool IsDelayed { get; set; }
}

/// <summary>The model output.</summary>
public sealed class DelayPrediction
{
    [ColumnName("PredictedLabel")]
    public bool PredictedLabel { get; set; }

    public float Probability { get; set; }
}

/// <summary>A flight about to leave: what a client knows when it asks for a delay prediction.</summary>
public sealed record Departure(string Origin, string Destination, int Distance, DateTime When);

/// <summary>
/// Open Inference Protocol (KServe V2) request bodies for the served <c>delay-model</c>. They carry only the flights' own
/// fields: the serving graph looks the origin's features up in the online store.
/// </summary>
public static class DelayRequests
{
    /// <summary>V2 tensors: one per input, each with one element per flight.</summary>
    public static string Tensors(string id, IReadOnlyList<Departure> flights) => JsonSerializer.Serialize(new
    {
        id,
        inputs = new object[]
        {
            Tensor("origin", "BYTES", flights.Select(f => (object)f.Origin)),
            Tensor("destination", "BYTES", flights.Select(f => (object)f.Destination)),
            Tensor("distance", "FP32", flights.Select(f => (object)f.Distance)),
            Tensor("hour", "FP32", flights.Select(f => (object)f.When.Hour)),
            Tensor("day_of_week", "FP32", flights.Select(f => (object)(int)f.When.DayOfWeek)),
        },
    });

    /// <summary>MLRun-style rows: one object per flight, keyed by input name.</summary>
    public static string Rows(IReadOnlyList<Departure> flights) => JsonSerializer.Serialize(new
    {
        inputs = flights.Select(f => new Dictionary<string, object>
        {
            ["origin"] = f.Origin,
            ["destination"] = f.Destination,
            ["distance"] = f.Distance,
            ["hour"] = f.When.Hour,
            ["day_of_week"] = (int)f.When.DayOfWeek,
        }),
    });

    private static object Tensor(string name, string datatype, IEnumerable<object> data)
    {
        var values = data.ToArray();
        return new { name, shape = new[] { values.Length }, datatype, data = values };
    }
}
