using System.Globalization;
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLOps.Tests.Registry;

/// <summary>A training row of the flights data: is a flight delayed by more than 15 minutes?</summary>
public sealed class FlightRow
{
    public float Distance { get; set; }
    public float Hour { get; set; }
    public string Origin { get; set; } = "";
    public bool Label { get; set; }
}

/// <summary>A prediction input without the label (the model does not need it).</summary>
public sealed class FlightInput
{
    public float Distance { get; set; }
    public float Hour { get; set; }
    public string Origin { get; set; } = "";
}

/// <summary>A prediction input whose members are named differently and mapped with [ColumnName].</summary>
public sealed class RenamedFlightInput
{
    [ColumnName("Distance")]
    public float Miles { get; set; }

    [ColumnName("Hour")]
    public float DepartureHour { get; set; }

    [ColumnName("Origin")]
    public string Airport { get; set; } = "";
}

/// <summary>An input that lacks the features.</summary>
public sealed class WrongFlightInput
{
    public string Origin { get; set; } = "";
    public float Speed { get; set; }
}

/// <summary>An input whose Distance has the wrong type.</summary>
public sealed class MistypedFlightInput
{
    public string Distance { get; set; } = "";
    public float Hour { get; set; }
    public string Origin { get; set; } = "";
}

public sealed class DelayPrediction
{
    public bool PredictedLabel { get; set; }
    public float Score { get; set; }
    public float Probability { get; set; }
}

public sealed class WrongPrediction
{
    public float Score { get; set; }
    public float Confidence { get; set; }
}

/// <summary>The real flights data and small FastTree models trained on it, shared by the registry tests.</summary>
internal static class FlightModels
{
    private static readonly Lazy<IReadOnlyList<FlightRow>> s_rows = new(LoadRows);
    private static readonly Lazy<(ITransformer Model, DataViewSchema Schema)> s_small = new(() => Train(trees: 10));
    private static readonly Lazy<(ITransformer Model, DataViewSchema Schema)> s_large = new(() => Train(trees: 25));

    public static string JsonPath => Path.Combine(TestContext.CurrentContext.TestDirectory, "data", "flights-20k.json");

    /// <summary>Every row of flights-20k.json.</summary>
    public static IReadOnlyList<FlightRow> Rows => s_rows.Value;

    /// <summary>3,000 training rows.</summary>
    public static IReadOnlyList<FlightRow> TrainRows => [.. Rows.Take(3000)];

    /// <summary>1,000 rows not used for training.</summary>
    public static IReadOnlyList<FlightInput> TestInputs
        => [.. Rows.Skip(10_000).Take(1000).Select(r => new FlightInput { Distance = r.Distance, Hour = r.Hour, Origin = r.Origin })];

    /// <summary>A FastTree model with 10 trees.</summary>
    public static (ITransformer Model, DataViewSchema Schema) Small => s_small.Value;

    /// <summary>A FastTree model with 25 trees (a different "version").</summary>
    public static (ITransformer Model, DataViewSchema Schema) Large => s_large.Value;

    /// <summary>Scores of <paramref name="model"/> on <paramref name="inputs"/> through Transform (not a prediction engine).</summary>
    public static float[] Scores(ITransformer model, IEnumerable<FlightInput> inputs)
    {
        var ml = new MLContext(seed: 1);
        var scored = model.Transform(ml.Data.LoadFromEnumerable(inputs));
        return [.. ml.Data.CreateEnumerable<DelayPrediction>(scored, reuseRowObject: false).Select(p => p.Score)];
    }

    /// <summary>Writes training rows to a CSV file.</summary>
    public static string WriteCsv(string folder, int count)
    {
        var path = Path.Combine(folder, "flights-train.csv");
        using var writer = new StreamWriter(path);
        writer.WriteLine("distance,hour,origin,delayed");
        foreach (var r in Rows.Take(count))
            writer.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{r.Distance},{r.Hour},{r.Origin},{(r.Label ? "true" : "false")}"));
        return path;
    }

    private static (ITransformer, DataViewSchema) Train(int trees)
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(TrainRows);
        var pipeline = ml.Transforms.Categorical.OneHotEncoding("OriginOneHot", nameof(FlightRow.Origin))
            .Append(ml.Transforms.Concatenate("Features", nameof(FlightRow.Distance), nameof(FlightRow.Hour), "OriginOneHot"))
            .Append(ml.BinaryClassification.Trainers.FastTree(numberOfLeaves: 8, numberOfTrees: trees, minimumExampleCountPerLeaf: 20));
        return (pipeline.Fit(data), data.Schema);
    }

    private static IReadOnlyList<FlightRow> LoadRows()
    {
        using var stream = File.OpenRead(JsonPath);
        using var doc = JsonDocument.Parse(stream);
        var rows = new List<FlightRow>();
        foreach (var e in doc.RootElement.EnumerateArray())
        {
            var date = DateTime.ParseExact(e.GetProperty("date").GetString()!, "yyyy/MM/dd HH:mm", CultureInfo.InvariantCulture);
            rows.Add(new FlightRow
            {
                Distance = e.GetProperty("distance").GetInt32(),
                Hour = date.Hour,
                Origin = e.GetProperty("origin").GetString()!,
                Label = e.GetProperty("delay").GetInt32() > 15,
            });
        }
        return rows;
    }
}

/// <summary>Opens a project of its own in a temp folder for every test and deletes it afterwards.</summary>
public abstract class RegistryTestBase
{
    protected string TempDir { get; private set; } = "";

    protected MLOpsProject Project { get; private set; } = null!;

    [SetUp]
    public async Task OpenProjectAsync()
    {
        TempDir = Path.Combine(Path.GetTempPath(), "mlops-registry-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(TempDir);
        Project = await MLOpsProject.Configure("test").UseHome(TempDir).CaptureGit(false).OpenAsync();
    }

    [TearDown]
    public async Task CloseProjectAsync()
    {
        if (Project is not null) await Project.DisposeAsync();
        try { Directory.Delete(TempDir, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    /// <summary>Writes a small file into the test folder.</summary>
    protected string WriteFile(string name, string content)
    {
        var path = Path.Combine(TempDir, name);
        File.WriteAllText(path, content);
        return path;
    }
}
