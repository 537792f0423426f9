using Apache.Arrow;
using MLOps.Monitoring.Capture;
using MLOps.Monitoring.Endpoints;

namespace MLOps.Monitoring.Applications;

/// <summary>One closed time window of a model endpoint's captured data, as given to an <see cref="IMonitoringApplication"/>.</summary>
public sealed class MonitoringWindow
{
    /// <summary>Creates a window.</summary>
    /// <param name="project">The project.</param>
    /// <param name="endpoint">The endpoint.</param>
    /// <param name="start">The first time included.</param>
    /// <param name="end">The first time excluded.</param>
    /// <param name="data">The captured rows whose time is in [<paramref name="start"/>, <paramref name="end"/>).</param>
    public MonitoringWindow(MLOpsProject project, ModelEndpoint endpoint, DateTimeOffset start, DateTimeOffset end, IReadOnlyList<RecordBatch> data)
    {
        Project = Throw.IfNull(project);
        Endpoint = Throw.IfNull(endpoint);
        Data = Throw.IfNull(data);
        if (end <= start)
            throw new ValidationException($"MonitoringWindow: end {end:O} is not after start {start:O}; pass a window whose end is later than its start.");
        Start = start;
        End = end;
        long rows = 0;
        foreach (var batch in data) rows += batch.Length;
        RowCount = rows;
    }

    /// <summary>The project.</summary>
    public MLOpsProject Project { get; }

    /// <summary>The endpoint (its counters as of the analysis).</summary>
    public ModelEndpoint Endpoint { get; }

    /// <summary>The endpoint's reference statistics, or <see langword="null"/> when it has none.</summary>
    public EndpointReference? Reference => Endpoint.Reference;

    /// <summary>The first time included.</summary>
    public DateTimeOffset Start { get; }

    /// <summary>The first time excluded.</summary>
    public DateTimeOffset End { get; }

    /// <summary>The captured rows of the window, file by file (columns: <see cref="CaptureColumns"/>; files may have different
    /// input and output columns).</summary>
    public IReadOnlyList<RecordBatch> Data { get; }

    /// <summary>The number of captured rows in <see cref="Data"/>.</summary>
    public long RowCount { get; }

    /// <inheritdoc />
    public override string ToString() => $"window [{Start:O}, {End:O}) of {Endpoint.Name}: {RowCount} rows";
}
