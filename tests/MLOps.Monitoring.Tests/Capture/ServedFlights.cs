using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using Apache.Arrow;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLOps.Registry;
using MLOps.Serving.Graphs;
using MLOps.Serving.Hosting;
using MLOps.Serving.Models;
using MLOps.Serving.Protocol;

namespace MLOps.Monitoring.Tests.Capture;

/// <summary>A training row of the flight-delay model (real flights, data/flights-20k.json).</summary>
public sealed class Flight
{
    [ColumnName("distance")] public float Distance { get; set; }
    [ColumnName("hour")] public float Hour { get; set; }
    [ColumnName("delayed")] public bool Delayed { get; set; }
}

/// <summary>The model's input.</summary>
public sealed class FlightFeatures
{
    [ColumnName("distance")] public float Distance { get; set; }
    [ColumnName("hour")] public float Hour { get; set; }
}

/// <summary>The model's output.</summary>
public sealed class DelayPrediction
{
    public bool PredictedLabel { get; set; }
    public float Score { get; set; }
    public float Probability { get; set; }
}

/// <summary>
/// A project in a temp folder with a real ML.NET model trained on the first 3,000 flights (its training data logged as a dataset and
/// linked to the model version), served in-process by an <see cref="InferenceServer"/> on a <see cref="FakeTimeProvider"/>.
/// </summary>
public sealed class ServedFlights : IAsyncDisposable
{
    public static readonly DateTimeOffset T0 = new(2026, 3, 1, 8, 0, 0, TimeSpan.Zero);

    private static readonly Lazy<(ITransformer Model, DataViewSchema Schema, IReadOnlyList<Flight> Rows)> s_trained = new(Train);

    private readonly bool _ownsFolder;

    private ServedFlights(TempFolder folder, bool ownsFolder, MLOpsProject project, FakeTimeProvider time, CapturingLogger log)
    {
        _ownsFolder = ownsFolder;
        Folder = folder;
        Project = project;
        Time = time;
        Log = log;
    }

    public TempFolder Folder { get; }

    public MLOpsProject Project { get; }

    public FakeTimeProvider Time { get; }

    public CapturingLogger Log { get; }

    public string TrainingDataUri { get; private set; } = "";

    public MLNetModel<FlightFeatures, DelayPrediction> Model { get; private set; } = null!;

    public ServingRouter Graph { get; private set; } = null!;

    public InferenceServer Server { get; private set; } = null!;

    public static IReadOnlyList<Flight> Rows => s_trained.Value.Rows;

    /// <summary>Opens a project named <paramref name="name"/> (unique per test by default), registers and serves the model. A
    /// <paramref name="folder"/> given by the caller is the caller's to delete.</summary>
    public static async Task<ServedFlights> StartAsync(string? name = null, MonitoringOptions? monitoring = null, TempFolder? folder = null)
    {
        var ownsFolder = folder is null;
        folder ??= new TempFolder();
        var time = new FakeTimeProvider(T0);
        var log = new CapturingLogger();
        var project = await MLOpsProject.Configure(name ?? "m" + Guid.NewGuid().ToString("N")[..12])
            .UseHome(folder.Path).CaptureGit(false).UseTimeProvider(time).UseLoggerFactory(log).OpenAsync();
        if (monitoring is not null) project.UseMonitoring(monitoring);
        var served = new ServedFlights(folder, ownsFolder, project, time, log);
        await served.ServeAsync();
        return served;
    }

    private async Task ServeAsync()
    {
        var (model, schema, _) = s_trained.Value;
        TrainingDataUri = await LogTrainingDataAsync("delay-training", 0, 3000);
        await Project.Models.RegisterAsync("delay", model, schema, new ModelLogOptions { TrainingData = TrainingDataUri, Aliases = { "production" } });
        Model = MLNetModel.Create<FlightFeatures, DelayPrediction>(Project, "delay", $"store://models/{Project.Name}/delay:production");
        Graph = ServingGraph.Router("flights").Route(new ModelStep(Model)).Build();
        Server = Graph.ToMockServer(new InferenceServerOptions { TimeProvider = Time }, Model);
        await Server.LoadAsync();
    }

    /// <summary>Registers the trained model again as the next version of "delay" (aliases unchanged), linked to the flights
    /// [<paramref name="skip"/>, <paramref name="skip"/> + <paramref name="take"/>) logged as the dataset <paramref name="dataset"/>.</summary>
    public async Task<(ModelVersionRecord Version, string TrainingDataUri)> RegisterVersionAsync(string dataset, int skip, int take)
    {
        var (model, schema, _) = s_trained.Value;
        var uri = await LogTrainingDataAsync(dataset, skip, take);
        return (await Project.Models.RegisterAsync("delay", model, schema, new ModelLogOptions { TrainingData = uri }), uri);
    }

    private async Task<string> LogTrainingDataAsync(string name, int skip, int take)
    {
        var training = Rows.Skip(skip).Take(take).ToList();
        var batch = new RecordBatch.Builder()
            .Append("distance", false, c => c.Float(a => a.AppendRange(training.Select(r => r.Distance))))
            .Append("hour", false, c => c.Float(a => a.AppendRange(training.Select(r => r.Hour))))
            .Build();
        return (await Project.Artifacts.LogDatasetAsync(name, batch)).Uri;
    }

    /// <summary>A tensor request of held-out flights (after the training rows).</summary>
    public static InferenceRequest Request(string id, int skip, int take) => new()
    {
        Id = id,
        Inputs =
        [
            InferenceTensor.Singles("distance", [.. Rows.Skip(3000 + skip).Take(take).Select(r => r.Distance)]),
            InferenceTensor.Singles("hour", [.. Rows.Skip(3000 + skip).Take(take).Select(r => r.Hour)]),
        ],
    };

    /// <summary>All rows of an endpoint's captured data, as (column -> values) with values boxed.</summary>
    public async Task<List<Dictionary<string, object?>>> ReadRowsAsync(string endpointId, DateTimeOffset? from = null, DateTimeOffset? to = null)
    {
        var rows = new List<Dictionary<string, object?>>();
        await foreach (var batch in Project.Monitoring.ReadCapturedAsync(endpointId, from, to))
        {
            for (int i = 0; i < batch.Length; i++)
            {
                var row = new Dictionary<string, object?>();
                for (int c = 0; c < batch.ColumnCount; c++)
                    row[batch.Schema.GetFieldByIndex(c).Name] = Value(batch.Column(c), i);
                rows.Add(row);
            }
        }
        return rows;
    }

    /// <summary>The value of row <paramref name="i"/> of a captured column, boxed (null for a null).</summary>
    public static object? Value(IArrowArray array, int i) => array.IsNull(i) ? null : array switch
    {
        FloatArray a => a.GetValue(i),
        DoubleArray a => a.GetValue(i),
        Int32Array a => a.GetValue(i),
        Int64Array a => a.GetValue(i),
        BooleanArray a => a.GetValue(i),
        StringArray a => a.GetString(i),
        TimestampArray a => a.GetTimestamp(i),
        _ => throw new NotSupportedException(array.GetType().Name),
    };

    public async ValueTask DisposeAsync()
    {
        await Graph.DisposeAsync();
        await Model.DisposeAsync();
        await Project.DisposeAsync();
        if (_ownsFolder) Folder.Dispose();
    }

    private static (ITransformer, DataViewSchema, IReadOnlyList<Flight>) Train()
    {
        var path = Path.Combine(TestContext.CurrentContext.TestDirectory, "data", "flights-20k.json");
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        var rows = doc.RootElement.EnumerateArray().Select(e => new Flight
        {
            Distance = e.GetProperty("distance").GetInt32(),
            Hour = DateTime.ParseExact(e.GetProperty("date").GetString()!, "yyyy/MM/dd HH:mm", CultureInfo.InvariantCulture).Hour,
            Delayed = e.GetProperty("delay").GetInt32() > 15,
        }).ToList();
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(rows.Take(3000));
        var model = ml.Transforms.Concatenate("Features", "distance", "hour")
            .Append(ml.BinaryClassification.Trainers.FastTree(labelColumnName: "delayed", numberOfLeaves: 4, numberOfTrees: 5, minimumExampleCountPerLeaf: 20)).Fit(data);
        return (model, data.Schema, rows);
    }
}

/// <summary>A logger factory that keeps every entry, for tests of log signals.</summary>
public sealed class CapturingLogger : ILoggerFactory, ILoggerProvider
{
    public sealed record Entry(string Category, LogLevel Level, EventId EventId, string Message, Exception? Exception);

    public ConcurrentQueue<Entry> Entries { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void AddProvider(ILoggerProvider provider) => throw new NotSupportedException();

    public void Dispose()
    {
    }

    private sealed class Logger(CapturingLogger owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            => owner.Entries.Enqueue(new Entry(category, logLevel, eventId, formatter(state, exception), exception));
    }
}
