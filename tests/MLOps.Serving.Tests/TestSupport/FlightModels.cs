using System.Globalization;
using System.Text.Json;

namespace MLOps.Serving.Tests.TestSupport;

/// <summary>A training row of the small flight-delay models: distance and hour, delayed more than 15 minutes.</summary>
public sealed class Flight
{
    public float Distance { get; set; }
    public float Hour { get; set; }
    public bool Label { get; set; }
}

/// <summary>The model input.</summary>
public sealed class FlightInput
{
    public float Distance { get; set; }
    public float Hour { get; set; }
}

/// <summary>The binary classifier's output.</summary>
public sealed class DelayPrediction
{
    public bool PredictedLabel { get; set; }
    public float Score { get; set; }
    public float Probability { get; set; }
}

/// <summary>The real flights (data/flights-20k.json) as training rows, read once per test run.</summary>
public static class FlightModels
{
    private static readonly Lazy<IReadOnlyList<Flight>> s_rows = new(Load);

    /// <summary>All 20,000 flights, in file order.</summary>
    public static IReadOnlyList<Flight> Rows => s_rows.Value;

    /// <summary>Model inputs from the flights after the first <paramref name="skip"/> (training uses the first ones).</summary>
    public static List<FlightInput> Inputs(int skip, int take)
        => Rows.Skip(skip).Take(take).Select(r => new FlightInput { Distance = r.Distance, Hour = r.Hour }).ToList();

    private static IReadOnlyList<Flight> Load()
    {
        var path = Path.Combine(TestContext.CurrentContext.TestDirectory, "data", "flights-20k.json");
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        return doc.RootElement.EnumerateArray().Select(e => new Flight
        {
            Distance = e.GetProperty("distance").GetInt32(),
            Hour = DateTime.ParseExact(e.GetProperty("date").GetString()!, "yyyy/MM/dd HH:mm", CultureInfo.InvariantCulture).Hour,
            Label = e.GetProperty("delay").GetInt32() > 15,
        }).ToList();
    }
}
