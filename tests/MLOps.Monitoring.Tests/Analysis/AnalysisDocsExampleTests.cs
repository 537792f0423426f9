using Apache.Arrow;
using MLOps.Monitoring.Analysis;
using MLOps.Monitoring.Applications;
using MLOps.Monitoring.Capture;

namespace MLOps.Monitoring.Tests.Analysis;

// --- the custom application of docs/monitoring.md, "Monitoring applications" (keep both in sync) ---

/// <summary>Flags windows whose share of late-evening flights (hour >= 22) is above 20%.</summary>
public sealed class LateFlightsApplication : IMonitoringApplication
{
    public string Name => "late_flights";

    public Task<ApplicationOutput> AnalyzeAsync(MonitoringWindow window, CancellationToken cancellationToken)
    {
        long late = 0, rows = 0;
        foreach (RecordBatch batch in window.Data)
        {
            if (batch.Schema.GetFieldIndex(CaptureColumns.Input("hour")) < 0) continue;
            var hours = (FloatArray)batch.Column(CaptureColumns.Input("hour"));
            for (int i = 0; i < batch.Length; i++, rows++)
                if (hours.GetValue(i) >= 22) late++;
        }
        if (rows < 10)
            return Task.FromResult(new ApplicationOutput { Results = [new MonitoringResult("late_share", double.NaN, ResultKind.Anomaly, ResultStatus.InsufficientData)] });
        double share = (double)late / rows;
        return Task.FromResult(new ApplicationOutput
        {
            Results = [new MonitoringResult("late_share", share, ResultKind.Anomaly, share > 0.2 ? ResultStatus.Detected : ResultStatus.None)
            {
                Message = $"{late} of {rows} rows after 22:00",
            }],
            Metrics = new Dictionary<string, double> { ["late_rows"] = late },
        });
    }
}

/// <summary>The examples of docs/monitoring.md, "Windows and the schedule" and "Monitoring applications", compiled and run.</summary>
public sealed class AnalysisDocsExampleTests
{
    [Test]
    public async Task MonitoringGuide_CustomApplicationExample_Runs()
    {
        await using var f = await AnalysisFixture.StartAsync();
        await f.SendAsync(5, [1, 2, 3], nowMinutes: 11);
        MonitoringCatalog monitoring = f.Project.Monitoring;
        string endpointId = f.Endpoint.Id;
        var output = new StringWriter();

        monitoring.Applications.Add(new LateFlightsApplication());          // every endpoint; or Add(app, ["delay"])
        IReadOnlyList<WindowAnalysis> analysed = await monitoring.AnalyzeAsync(); // the closed windows not analysed yet
        foreach (WindowAnalysis window in analysed)
            output.WriteLine($"{window.Start:HH:mm}-{window.End:HH:mm}: {window.RowCount} rows, {window.Results.Count} results");

        IReadOnlyList<MonitoringResultRecord> late = await monitoring.GetResultsAsync(endpointId, "late_flights", "late_share",
            from: DateTimeOffset.Parse("2026-03-01T00:00Z"), to: DateTimeOffset.Parse("2026-03-02T00:00Z"));
        foreach (MonitoringResultRecord r in late)
            output.WriteLine($"{r.WindowStart:HH:mm} {r.Name} = {r.Value:P0} ({r.Status}): {r.Message}");
        IReadOnlyList<MonitoringResultRecord> requests = await monitoring.GetResultsAsync(endpointId, "operations", "requests");

        Assert.That(analysed, Has.Count.EqualTo(1));
        Assert.That(late.Single().Status, Is.AnyOf(ResultStatus.None, ResultStatus.Detected));
        Assert.That(late.Single().Message, Does.EndWith("of 15 rows after 22:00"));
        Assert.That(requests.Single().Value, Is.EqualTo(3));
        Assert.That(output.ToString(), Does.StartWith("08:00-08:10: 15 rows, 16 results"));
    }
}
