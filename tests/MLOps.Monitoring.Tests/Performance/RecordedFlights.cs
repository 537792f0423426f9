using System.Globalization;
using System.Text.Json;
using Apache.Arrow;
using Microsoft.Extensions.Time.Testing;
using MLOps.Monitoring.Applications;
using MLOps.Monitoring.Capture;
using MLOps.Monitoring.Endpoints;
using MLOps.Monitoring.GroundTruth;
using MLOps.Monitoring.Tests.Capture;

namespace MLOps.Monitoring.Tests.Performance;

/// <summary>A real flight with its delay in minutes (data/flights-20k.json).</summary>
public sealed record FlightDelay(float Distance, int Hour, double Delay);

/// <summary>
/// A project in a temp folder with a hand-registered regression endpoint ("delay-minutes" v1) whose batch results were recorded
/// (<see cref="MonitoringCatalog.RecordResultsAsync"/>) for real flights: input distance and hour, output Score = 2.5 hour - 20,
/// the true delay kept for logging as ground truth. No model is trained: cheap for ground-truth tests.
/// </summary>
public sealed class RecordedFlights : IAsyncDisposable
{
    private static readonly Lazy<IReadOnlyList<FlightDelay>> s_flights = new(Load);

    private readonly bool _ownsFolder;

    private RecordedFlights(TempFolder folder, bool ownsFolder, MLOpsProject project, FakeTimeProvider time, CapturingLogger log)
    {
        (Folder, _ownsFolder, Project, Time, Log) = (folder, ownsFolder, project, time, log);
    }

    public TempFolder Folder { get; }

    public MLOpsProject Project { get; }

    public FakeTimeProvider Time { get; }

    public CapturingLogger Log { get; }

    public ModelEndpoint Endpoint { get; private set; } = null!;

    /// <summary>The recorded rows in order: their key and flight.</summary>
    public List<(GroundTruthKey Key, FlightDelay Flight)> Recorded { get; } = [];

    public static IReadOnlyList<FlightDelay> Flights => s_flights.Value;

    public static float Predict(FlightDelay flight) => 2.5f * flight.Hour - 20f;

    /// <summary>Records <paramref name="rows"/> flights from <paramref name="skip"/> at <see cref="ServedFlights.T0"/>.</summary>
    public static async Task<RecordedFlights> StartAsync(int rows = 40, int skip = 0, TempFolder? folder = null, string? name = null)
    {
        var ownsFolder = folder is null;
        folder ??= new TempFolder();
        var time = new FakeTimeProvider(ServedFlights.T0);
        var log = new CapturingLogger();
        var project = await TestProjects.OpenAsync(folder, name ?? "g" + Guid.NewGuid().ToString("N")[..12], time, b => b.UseLoggerFactory(log));
        var recorded = new RecordedFlights(folder, ownsFolder, project, time, log);
        await recorded.RecordAsync(rows, skip);
        return recorded;
    }

    private async Task RecordAsync(int rows, int skip)
    {
        await Project.Monitoring.RegisterEndpointAsync("delay-minutes", "1");
        var flights = Flights.Skip(skip).Take(rows).ToList();
        var inputs = new RecordBatch.Builder()
            .Append("distance", false, c => c.Float(a => a.AppendRange(flights.Select(f => f.Distance))))
            .Append("hour", false, c => c.Int32(a => a.AppendRange(flights.Select(f => f.Hour))))
            .Build();
        var outputs = new RecordBatch.Builder().Append("Score", false, c => c.Float(a => a.AppendRange(flights.Select(Predict)))).Build();
        Endpoint = await Project.Monitoring.RecordResultsAsync("delay-minutes", "1", inputs, outputs, ServedFlights.T0);
        await foreach (var batch in Project.Monitoring.ReadCapturedAsync(Endpoint.Id))
        {
            var ids = (StringArray)batch.Column(CaptureColumns.RequestId);
            var rowIndexes = (Int32Array)batch.Column(CaptureColumns.Row);
            for (int i = 0; i < batch.Length; i++)
                Recorded.Add((new GroundTruthKey(ids.GetString(i), rowIndexes.GetValue(i)!.Value), flights[Recorded.Count]));
        }
    }

    /// <summary>A ground-truth batch: request_id, row and the true delay (double) of the given recorded rows.</summary>
    public RecordBatch Labels(IEnumerable<int> indexes, Func<FlightDelay, double>? label = null)
    {
        var chosen = indexes.Select(i => Recorded[i]).ToList();
        label ??= f => f.Delay;
        return new RecordBatch.Builder()
            .Append(CaptureColumns.RequestId, false, c => c.String(a => a.AppendRange(chosen.Select(r => r.Key.RequestId))))
            .Append(CaptureColumns.Row, false, c => c.Int32(a => a.AppendRange(chosen.Select(r => r.Key.Row))))
            .Append("label", false, c => c.Double(a => a.AppendRange(chosen.Select(r => label(r.Flight)))))
            .Build();
    }

    /// <summary>The window of the hour of <see cref="ServedFlights.T0"/> built by hand from the captured data.</summary>
    public Task<MonitoringWindow> WindowAsync() => Windows.ReadAsync(Project, Endpoint.Id);

    public async ValueTask DisposeAsync()
    {
        await Project.DisposeAsync();
        if (_ownsFolder) Folder.Dispose();
    }

    private static IReadOnlyList<FlightDelay> Load()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(TestProjects.FlightsJson));
        return doc.RootElement.EnumerateArray().Select(e => new FlightDelay(
            e.GetProperty("distance").GetInt32(),
            DateTime.ParseExact(e.GetProperty("date").GetString()!, "yyyy/MM/dd HH:mm", CultureInfo.InvariantCulture).Hour,
            e.GetProperty("delay").GetInt32())).ToList();
    }
}

/// <summary>Builds monitoring windows by hand, as the analysis engine does.</summary>
public static class Windows
{
    /// <summary>The window [T0, T0 + 1 h) of an endpoint: its captured batches read with ReadCapturedAsync.</summary>
    public static async Task<MonitoringWindow> ReadAsync(MLOpsProject project, string endpointId)
    {
        DateTimeOffset start = ServedFlights.T0, end = ServedFlights.T0.AddHours(1);
        var batches = new List<RecordBatch>();
        await foreach (var batch in project.Monitoring.ReadCapturedAsync(endpointId, start, end))
            batches.Add(batch);
        return new MonitoringWindow(project, await project.Monitoring.GetEndpointAsync(endpointId), start, end, batches);
    }
}
