using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace MLOps.FeatureStore.Tests.Diagnostics;

/// <summary>
/// Captures the feature store's spans and measurements of one project (listeners are process-wide: tests running in
/// parallel see each other's signals, so everything is filtered by the project tag).
/// </summary>
internal sealed class TelemetryCapture : IDisposable
{
    private readonly string _project;
    private readonly ActivityListener _activities;
    private readonly MeterListener _meters;

    public TelemetryCapture(string project)
    {
        _project = project;
        _activities = new ActivityListener
        {
            ShouldListenTo = s => s.Name == FeatureStoreDiagnostics.ActivitySourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = a =>
            {
                if (Equals(a.GetTagItem(FeatureStoreDiagnostics.ProjectTag), _project)) Spans.Enqueue(a);
            },
        };
        ActivitySource.AddActivityListener(_activities);
        _meters = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == FeatureStoreDiagnostics.MeterName) listener.EnableMeasurementEvents(instrument);
            },
        };
        _meters.SetMeasurementEventCallback<long>((i, v, tags, _) => Record(i, v, tags));
        _meters.SetMeasurementEventCallback<double>((i, v, tags, _) => Record(i, v, tags));
        _meters.Start();
    }

    public ConcurrentQueue<Activity> Spans { get; } = new();

    public ConcurrentQueue<(string Instrument, double Value, Dictionary<string, object?> Tags)> Measurements { get; } = new();

    public Activity[] SpansNamed(string name) => Spans.Where(a => a.OperationName == name).ToArray();

    public (double Value, Dictionary<string, object?> Tags)[] Of(string instrument)
        => Measurements.Where(m => m.Instrument == instrument).Select(m => (m.Value, m.Tags)).ToArray();

    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var map = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var (k, v) in tags) map[k] = v;
        if (Equals(map.GetValueOrDefault(FeatureStoreDiagnostics.ProjectTag), _project)) Measurements.Enqueue((instrument.Name, value, map));
    }

    public void Dispose()
    {
        _activities.Dispose();
        _meters.Dispose();
    }
}
