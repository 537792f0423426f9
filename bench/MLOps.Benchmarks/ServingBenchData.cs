using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLOps.Serving.Protocol;

namespace MLOps.Benchmarks;

/// <summary>The served model's input: three numeric features of a flight.</summary>
public sealed class ServedFlight
{
    [ColumnName("distance")] public float Distance { get; set; }
    [ColumnName("hour")] public float Hour { get; set; }
    [ColumnName("day_of_week"), JsonPropertyName("day_of_week")] public float DayOfWeek { get; set; }
}

/// <summary>A training row: the input and the label.</summary>
public sealed class ServedFlightRow
{
    [ColumnName("distance")] public float Distance { get; set; }
    [ColumnName("hour")] public float Hour { get; set; }
    [ColumnName("day_of_week")] public float DayOfWeek { get; set; }
    [ColumnName("is_delayed")] public bool IsDelayed { get; set; }
}

/// <summary>The binary classifier's output.</summary>
public sealed class ServedPrediction
{
    public bool PredictedLabel { get; set; }
    public float Score { get; set; }
    public float Probability { get; set; }
}

/// <summary>
/// The model every serving benchmark serves: a FastTree delay classifier (50 trees of 20 leaves) trained on the 20,000
/// real flights, registered in a project in a temp folder with the alias <c>production</c>.
/// </summary>
internal sealed class ServingBenchData : IAsyncDisposable
{
    public const string ModelName = "delay";
    public const string ModelUri = "store://models/bench/delay:production";

    private ServingBenchData(string home, MLOpsProject project, MLContext ml, ITransformer model, ServedFlight input)
    {
        Home = home;
        Project = project;
        Ml = ml;
        Model = model;
        Input = input;
    }

    public string Home { get; }

    public MLOpsProject Project { get; }

    public MLContext Ml { get; }

    /// <summary>The trained model, as registered.</summary>
    public ITransformer Model { get; }

    /// <summary>One flight to predict (a real one).</summary>
    public ServedFlight Input { get; }

    /// <summary>The V2 request for <see cref="Input"/>: one FP32 tensor of shape [1] per feature.</summary>
    public InferenceRequest Request => new()
    {
        Id = "bench",
        Inputs =
        [
            InferenceTensor.Singles("distance", [Input.Distance], 1),
            InferenceTensor.Singles("hour", [Input.Hour], 1),
            InferenceTensor.Singles("day_of_week", [Input.DayOfWeek], 1),
        ],
    };

    /// <summary>The UTF-8 JSON body of <see cref="Request"/>.</summary>
    public byte[] RequestJson => InferenceJson.SerializeRequest(Request);

    /// <summary>The bare minimal API's body: the flight as a JSON object.</summary>
    public byte[] PlainJson => JsonSerializer.SerializeToUtf8Bytes(new { distance = Input.Distance, hour = Input.Hour, day_of_week = Input.DayOfWeek });

    public static async Task<ServingBenchData> CreateAsync()
    {
        var home = BenchFiles.NewDirectory("serving");
        var project = await BenchFiles.OpenProjectAsync(home);
        var rows = LoadFlights();
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(rows);
        var pipeline = ml.Transforms.Concatenate("Features", "distance", "hour", "day_of_week")
            .Append(ml.BinaryClassification.Trainers.FastTree(labelColumnName: "is_delayed", numberOfTrees: 50, numberOfLeaves: 20));
        var model = pipeline.Fit(data);
        var version = await project.Models.RegisterAsync(ModelName, model, data.Schema);
        await project.Models.SetAliasAsync(ModelName, "production", version.Version);
        var last = rows[^1];
        return new ServingBenchData(home, project, ml, model, new ServedFlight { Distance = last.Distance, Hour = last.Hour, DayOfWeek = last.DayOfWeek });
    }

    private static List<ServedFlightRow> LoadFlights()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "data", "flights-20k.json");
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        return doc.RootElement.EnumerateArray().Select(e =>
        {
            var when = DateTime.ParseExact(e.GetProperty("date").GetString()!, "yyyy/MM/dd HH:mm", CultureInfo.InvariantCulture);
            return new ServedFlightRow
            {
                Distance = e.GetProperty("distance").GetInt32(),
                Hour = when.Hour,
                DayOfWeek = (float)when.DayOfWeek,
                IsDelayed = e.GetProperty("delay").GetInt32() > 15,
            };
        }).ToList();
    }

    public async ValueTask DisposeAsync()
    {
        await Project.DisposeAsync();
        BenchFiles.Delete(Home);
    }
}
