using MLOps.Monitoring.Capture;
using MLOps.Monitoring.Endpoints;
using MLOps.Monitoring.Tests.Capture;

namespace MLOps.Monitoring.Tests.Analysis;

/// <summary>The served flights with a capture session, and requests sent at chosen times (minutes after <see cref="ServedFlights.T0"/>, 08:00 UTC).</summary>
public sealed class AnalysisFixture : IAsyncDisposable
{
    private AnalysisFixture(ServedFlights served, CaptureSession session)
    {
        Served = served;
        Session = session;
    }

    public ServedFlights Served { get; }

    public CaptureSession Session { get; }

    public MLOpsProject Project => Served.Project;

    public MonitoringCatalog Monitoring => Served.Project.Monitoring;

    public ModelEndpoint Endpoint => Session.Endpoints.Single();

    public static async Task<AnalysisFixture> StartAsync(MonitoringOptions? options = null, CaptureOptions? capture = null, string? name = null, TempFolder? folder = null)
    {
        var served = await ServedFlights.StartAsync(name, options, folder);
        var session = await served.Project.Monitoring.StartCaptureAsync(served.Server, capture);
        return new AnalysisFixture(served, session);
    }

    /// <summary>Sends one request of <paramref name="rows"/> rows at each given minute after 08:00 (in order), flushes, then sets the clock.</summary>
    public async Task SendAsync(int rows, IEnumerable<double> minutes, double nowMinutes)
    {
        var i = 0;
        foreach (var minute in minutes)
        {
            Served.Time.SetUtcNow(ServedFlights.T0.AddMinutes(minute));
            await Served.Server.InferAsync("delay", ServedFlights.Request($"r-{minute}-{i}", i++ * rows, rows));
        }
        await Session.FlushAsync();
        Served.Time.SetUtcNow(ServedFlights.T0.AddMinutes(nowMinutes));
    }

    public static DateTimeOffset At(double minutes) => ServedFlights.T0.AddMinutes(minutes);

    public async ValueTask DisposeAsync()
    {
        await Session.DisposeAsync();
        await Served.DisposeAsync();
    }
}
