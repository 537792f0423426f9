using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using MLOps.FeatureStore.Ingestion;
using MLOps.FeatureStore.Sources;
using MLOps.FeatureStore.Tests.Aggregations;
using MLOps.FeatureStore.Tests.TestSupport;
using D = MLOps.FeatureStore.FeatureStoreDiagnostics;

namespace MLOps.FeatureStore.Tests.Diagnostics;

/// <summary>Each signal of the feature store (spans, metrics, logs) is emitted; see docs/feature-store.md, "Observability".</summary>
[Parallelizable(ParallelScope.All)]
public sealed class FeatureStoreTelemetryTests
{
    private static readonly IReadOnlyList<Flight> Flights = FlightData.All.Take(2000).ToArray();

    private static Task<IngestReport> IngestFlightsAsync(FeatureStoreCatalog fs, string? id = null)
        => fs.IngestAsync(AggregationEndToEndTests.Define(fs), DataSource.Batches([FlightData.ToBatch(Flights)]), new() { ChunkSize = 500, IngestId = id });

    [Test]
    public async Task IngestAsync_WithActivityListener_EmitsOneSpanWithSetVersionRowsAndChunks()
    {
        using var folder = new TempFolder();
        using var capture = new TelemetryCapture("obs-ingest-span");
        await using var project = await TestProjects.OpenAsync(folder, "obs-ingest-span");

        var report = await IngestFlightsAsync(project.FeatureStore);

        var span = capture.SpansNamed(D.IngestActivity).Single();
        Assert.Multiple(() =>
        {
            Assert.That(span.Source.Name, Is.EqualTo(D.ActivitySourceName));
            Assert.That(span.Kind, Is.EqualTo(ActivityKind.Internal));
            Assert.That(span.Status, Is.EqualTo(ActivityStatusCode.Unset));
            Assert.That(span.GetTagItem(D.FeatureSetTag), Is.EqualTo("flights"));
            Assert.That(span.GetTagItem(D.FeatureSetVersionTag), Is.EqualTo(report.Version));
            Assert.That(span.GetTagItem("mlops.ingestion.rows_read"), Is.EqualTo(2000L));
            Assert.That(span.GetTagItem("mlops.ingestion.rows_written"), Is.EqualTo(report.RowsWritten));
            Assert.That(span.GetTagItem("mlops.ingestion.chunks"), Is.EqualTo(4));
            Assert.That(span.GetTagItem("mlops.ingestion.id"), Is.EqualTo(report.IngestId));
        });
    }

    [Test]
    public async Task IngestAsync_WithMeterListener_AddsWrittenRowsAndRecordsDuration()
    {
        using var folder = new TempFolder();
        using var capture = new TelemetryCapture("obs-ingest-metrics");
        await using var project = await TestProjects.OpenAsync(folder, "obs-ingest-metrics");

        var report = await IngestFlightsAsync(project.FeatureStore);
        await IngestFlightsAsync(project.FeatureStore, report.IngestId); // already ingested: not counted again

        var rows = capture.Of(D.IngestedRows);
        var durations = capture.Of(D.IngestionDuration);
        Assert.Multiple(() =>
        {
            Assert.That(rows.Select(r => r.Value), Is.EqualTo(new[] { (double)report.RowsWritten }));
            Assert.That(rows[0].Tags[D.FeatureSetTag], Is.EqualTo("flights"));
            Assert.That(durations.Select(d => d.Value), Is.EqualTo(new[] { report.Duration.TotalSeconds }));
            Assert.That(durations[0].Tags.ContainsKey(D.ErrorTypeTag), Is.False);
        });
    }

    [Test]
    public async Task IngestAsync_WithTestLogger_LogsTheSummaryWithRowsDurationAndVersion()
    {
        using var folder = new TempFolder();
        var collector = new FakeLogCollector();
        using var loggers = new LoggerFactory([new FakeLoggerProvider(collector)]);
        await using var project = await TestProjects.OpenAsync(folder, "obs-ingest-log", configure: b => b.UseLoggerFactory(loggers));

        var report = await IngestFlightsAsync(project.FeatureStore);

        var summary = collector.GetSnapshot().Single(r => r.Id.Id == 2001);
        Assert.Multiple(() =>
        {
            Assert.That(summary.Level, Is.EqualTo(LogLevel.Information));
            Assert.That(summary.Category, Is.EqualTo("MLOps.FeatureStore"));
            Assert.That(summary.GetStructuredStateValue("Rows"), Is.EqualTo(report.RowsWritten.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            Assert.That(summary.GetStructuredStateValue("FeatureSet"), Is.EqualTo("flights"));
            Assert.That(summary.GetStructuredStateValue("Version"), Is.EqualTo(report.Version.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            Assert.That(summary.GetStructuredStateValue("DurationMs"), Is.EqualTo(((long)report.Duration.TotalMilliseconds).ToString(System.Globalization.CultureInfo.InvariantCulture)));
            Assert.That(summary.GetStructuredStateValue("IngestId"), Is.EqualTo(report.IngestId));
        });
    }

    [Test]
    public async Task IngestAsync_BadRow_SpanFailsAndDurationHasErrorTypeAndErrorIsLoggedWithException()
    {
        using var folder = new TempFolder();
        using var capture = new TelemetryCapture("obs-ingest-fail");
        var collector = new FakeLogCollector();
        using var loggers = new LoggerFactory([new FakeLoggerProvider(collector)]);
        await using var project = await TestProjects.OpenAsync(folder, "obs-ingest-fail", configure: b => b.UseLoggerFactory(loggers));
        var fs = project.FeatureStore;
        var set = fs.FeatureSet("flights").Entity("origin").Timestamp("date").Build();
        var rows = new[] { new Dictionary<string, object?> { ["origin"] = "SFO", ["date"] = "not a time", ["delay"] = 3.0 } };

        var thrown = Assert.ThrowsAsync<ValidationException>(() => fs.IngestAsync(set, DataSource.Objects(rows), new() { IngestId = "bad-1" }))!;

        var span = capture.SpansNamed(D.IngestActivity).Single();
        var duration = capture.Of(D.IngestionDuration).Single();
        var error = collector.GetSnapshot().Single(r => r.Id.Id == 2002);
        Assert.Multiple(() =>
        {
            Assert.That(span.Status, Is.EqualTo(ActivityStatusCode.Error));
            Assert.That(span.GetTagItem(D.ErrorTypeTag), Is.EqualTo(typeof(ValidationException).FullName));
            Assert.That(span.Events.Select(e => e.Name), Does.Contain("exception"));
            Assert.That(duration.Tags[D.ErrorTypeTag], Is.EqualTo(typeof(ValidationException).FullName));
            Assert.That(capture.Of(D.IngestedRows), Is.Empty);
            Assert.That(error.Level, Is.EqualTo(LogLevel.Error));
            Assert.That(error.Exception, Is.SameAs(thrown));
            Assert.That(error.GetStructuredStateValue("IngestId"), Is.EqualTo("bad-1"));
        });
    }

    [Test]
    public async Task IngestAsync_BadRowWithoutIngestId_LogsTheGeneratedId()
    {
        using var folder = new TempFolder();
        var collector = new FakeLogCollector();
        using var loggers = new LoggerFactory([new FakeLoggerProvider(collector)]);
        await using var project = await TestProjects.OpenAsync(folder, "obs-ingest-fail-id", configure: b => b.UseLoggerFactory(loggers));
        var fs = project.FeatureStore;
        var set = fs.FeatureSet("flights").Entity("origin").Timestamp("date").Build();
        var rows = new[] { new Dictionary<string, object?> { ["origin"] = null, ["date"] = "2001-01-01T00:00:00Z", ["delay"] = 3.0 } };

        Assert.ThrowsAsync<ValidationException>(() => fs.IngestAsync(set, DataSource.Objects(rows)));

        var error = collector.GetSnapshot().Single(r => r.Id.Id == 2002);
        Assert.That(error.GetStructuredStateValue("IngestId"), Is.Not.Null.And.Not.Empty.And.Not.EqualTo("(null)"));
    }

    [Test]
    public async Task FlushPushesAsync_WithListeners_EmitsFlushSpanCountersAndLog()
    {
        using var folder = new TempFolder();
        using var capture = new TelemetryCapture("obs-push");
        var collector = new FakeLogCollector();
        using var loggers = new LoggerFactory([new FakeLoggerProvider(collector)]);
        await using var project = await TestProjects.OpenAsync(folder, "obs-push", configure: b => b.UseLoggerFactory(loggers));
        var fs = project.FeatureStore;
        var first = FlightData.All.Take(1000).ToArray();
        await fs.IngestAsync(AggregationEndToEndTests.Define(fs), DataSource.Batches([FlightData.ToBatch(first)]));
        var pushed = FlightData.All.Skip(1000).Take(30).Select(f => f.ToEvent()).ToArray();
        await fs.PushAsync(AggregationEndToEndTests.Define(fs), pushed);
        Assert.That(capture.SpansNamed(D.PushFlushActivity), Is.Empty, "buffered, not flushed yet");

        await fs.FlushPushesAsync();

        var span = capture.SpansNamed(D.PushFlushActivity).Single();
        var log = collector.GetSnapshot().Single(r => r.Id.Id == 2010);
        Assert.Multiple(() =>
        {
            Assert.That(span.GetTagItem(D.FeatureSetTag), Is.EqualTo("flights"));
            Assert.That(span.GetTagItem("mlops.push.rows"), Is.EqualTo(30));
            Assert.That(span.Status, Is.EqualTo(ActivityStatusCode.Unset));
            Assert.That(capture.Of(D.PushFlushes).Select(m => m.Value), Is.EqualTo(new[] { 1.0 }));
            Assert.That(capture.Of(D.PushFlushedRows).Select(m => m.Value), Is.EqualTo(new[] { 30.0 }));
            Assert.That(log.GetStructuredStateValue("Rows"), Is.EqualTo("30"));
            Assert.That(log.GetStructuredStateValue("FeatureSet"), Is.EqualTo("flights"));
        });
    }

    [Test]
    public async Task GetOfflineFeaturesAsync_WithActivityListener_EmitsRetrievalSpanWithVectorAndRows()
    {
        using var folder = new TempFolder();
        using var capture = new TelemetryCapture("obs-offline");
        await using var project = await TestProjects.OpenAsync(folder, "obs-offline");
        var fs = project.FeatureStore;
        await IngestFlightsAsync(fs);
        var vector = await fs.Vector("delays").Select("flights.delay_avg_1h").SaveAsync();
        var entityRows = Flights.Take(50).Select(f => new { origin = f.Origin, date = f.Time }).ToArray();

        using var training = await fs.GetOfflineFeaturesAsync(vector, DataSource.Objects(entityRows));
        using var range = await fs.GetOfflineFeaturesAsync(vector);

        var spans = capture.SpansNamed(D.OfflineRetrievalActivity);
        Assert.That(spans, Has.Length.EqualTo(2));
        Assert.Multiple(() =>
        {
            Assert.That(spans.Select(s => s.GetTagItem(D.FeatureVectorTag)), Is.All.EqualTo("delays"));
            Assert.That(spans.Select(s => s.GetTagItem("mlops.retrieval.mode")), Is.EqualTo(new[] { "entity_rows", "time_range" }));
            Assert.That(spans.Select(s => s.GetTagItem("mlops.retrieval.rows")), Is.EqualTo(new object[] { 50, range.RowCount }));
            Assert.That(spans[0].GetTagItem("mlops.feature_sets"), Is.EqualTo("flights"));
        });
    }

    [Test]
    public async Task GetManyAsync_WithListeners_EmitsOneSpanPerCallAndRecordsLatencyAndEntities()
    {
        using var folder = new TempFolder();
        using var capture = new TelemetryCapture("obs-online");
        await using var project = await TestProjects.OpenAsync(folder, "obs-online");
        var fs = project.FeatureStore;
        await IngestFlightsAsync(fs);
        var vector = await fs.Vector("delays").Select("flights.delay_avg_1h", "flights.delay_count_1d").SaveAsync();
        await using var online = await fs.GetOnlineServiceAsync(vector);
        var origins = Flights.Select(f => f.Origin).Distinct().Take(40).ToArray();
        var keys = origins.Append("XXX").Select(o => (IReadOnlyDictionary<string, object>)new Dictionary<string, object> { ["origin"] = o }).ToArray();

        await online.GetManyAsync(keys);
        await online.GetAsync(new() { ["origin"] = origins[0] });

        var spans = capture.SpansNamed(D.OnlineLookupActivity);
        Assert.That(spans, Has.Length.EqualTo(2), "one span per call, not per entity");
        Assert.Multiple(() =>
        {
            Assert.That(spans.Select(s => s.GetTagItem("mlops.online.entities")), Is.EqualTo(new object[] { keys.Length, 1 }));
            Assert.That(spans.Select(s => s.GetTagItem("mlops.online.found")), Is.EqualTo(new object[] { origins.Length, 1 }));
            Assert.That(spans.Select(s => s.GetTagItem(D.FeatureVectorTag)), Is.All.EqualTo("delays"));
            Assert.That(capture.Of(D.OnlineLookupEntities).Select(m => m.Value), Is.EqualTo(new[] { (double)keys.Length, 1.0 }));
            var latencies = capture.Of(D.OnlineLookupDuration);
            Assert.That(latencies, Has.Length.EqualTo(2));
            Assert.That(latencies.Select(l => l.Value), Is.All.GreaterThan(0));
            Assert.That(latencies.Select(l => l.Tags[D.FeatureVectorTag]), Is.All.EqualTo("delays"));
        });
    }

    [Test]
    public async Task Instruments_ProjectWithMeterFactory_AreCreatedByThatFactory()
    {
        using var folder = new TempFolder();
        await using var provider = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var factory = provider.GetRequiredService<IMeterFactory>();
        using var collector = new MetricCollector<long>(factory, D.MeterName, D.IngestedRows);
        await using var project = await TestProjects.OpenAsync(folder, "obs-factory", configure: b => b.UseMeterFactory(factory));

        var report = await IngestFlightsAsync(project.FeatureStore);

        // the collector listens to the factory's meter only: the process-wide meter's measurements do not reach it
        var measurements = collector.GetMeasurementSnapshot().Where(m => Equals(m.Tags[D.ProjectTag], "obs-factory")).ToArray();
        Assert.That(measurements.Select(m => m.Value), Is.EqualTo(new[] { report.RowsWritten }));
    }
}
