namespace MLOps.Runs;

/// <summary>The life cycle of a run: <c>Created → Running → Completed | Failed | Aborted</c>.</summary>
public enum RunState
{
    /// <summary>Recorded but not started.</summary>
    Created = 0,
    /// <summary>Executing.</summary>
    Running = 1,
    /// <summary>Finished without error.</summary>
    Completed = 2,
    /// <summary>Finished with an error (see <see cref="RunRecord.Error"/>).</summary>
    Failed = 3,
    /// <summary>Cancelled before it finished.</summary>
    Aborted = 4,
}

/// <summary>Whether a linked artifact was read or written by a run.</summary>
public enum RunLinkDirection
{
    /// <summary>The run read the artifact.</summary>
    Input = 0,
    /// <summary>The run produced the artifact.</summary>
    Output = 1,
}

/// <summary>A named input or output of a run, pointing at an artifact URI (lineage).</summary>
/// <param name="Direction">Input or output.</param>
/// <param name="Name">The name under which the run knows it (e.g. "training-data", "model").</param>
/// <param name="Uri">The artifact URI, e.g. <c>store://datasets/flights/train:3</c>.</param>
public sealed record RunLink(RunLinkDirection Direction, string Name, string Uri);

/// <summary>A metric point to append.</summary>
/// <param name="RunId">The run.</param>
/// <param name="Key">The metric key.</param>
/// <param name="Value">The value (NaN and infinities are allowed).</param>
/// <param name="Step">The step (epoch, iteration, ...).</param>
/// <param name="Timestamp">When it was measured (UTC).</param>
public readonly record struct MetricEntry(string RunId, string Key, double Value, long Step, DateTimeOffset Timestamp);

/// <summary>One point of a metric's history.</summary>
/// <param name="Value">The value.</param>
/// <param name="Step">The step.</param>
/// <param name="Timestamp">When it was measured (UTC).</param>
public readonly record struct MetricPoint(double Value, long Step, DateTimeOffset Timestamp);

/// <summary>A log line captured from a run's <c>ILogger</c>.</summary>
/// <param name="RunId">The run.</param>
/// <param name="Timestamp">When it was written (UTC).</param>
/// <param name="Level">The log level name (Information, Warning, ...).</param>
/// <param name="Category">The logger category.</param>
/// <param name="Message">The formatted message, with the exception appended when there is one.</param>
public sealed record RunLogEntry(string RunId, DateTimeOffset Timestamp, string Level, string Category, string Message);

/// <summary>What a store needs to create a run.</summary>
public sealed record NewRun
{
    /// <summary>The run id (sortable, see <c>Guid.CreateVersion7</c>).</summary>
    public required string Id { get; init; }
    /// <summary>The project.</summary>
    public required string Project { get; init; }
    /// <summary>The run name (the function or job, e.g. "train").</summary>
    public required string Name { get; init; }
    /// <summary>When it started (UTC).</summary>
    public required DateTimeOffset StartTime { get; init; }
    /// <summary>The parent run of a nested run.</summary>
    public string? ParentId { get; init; }
    /// <summary>The iteration number of a hyper-parameter child run.</summary>
    public int? Iteration { get; init; }
    /// <summary>The machine name.</summary>
    public string? Host { get; init; }
    /// <summary>The git commit when started inside a git work tree.</summary>
    public string? GitCommit { get; init; }
    /// <summary>Whether the git work tree had uncommitted changes.</summary>
    public bool? GitDirty { get; init; }
    /// <summary>Initial labels.</summary>
    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();
    /// <summary>Initial parameters (invariant string form).</summary>
    public IReadOnlyDictionary<string, string> Parameters { get; init; } = new Dictionary<string, string>();
}

/// <summary>A stored run: identity, state, code version, parameters, results, latest metrics, labels and lineage.</summary>
public sealed record RunRecord
{
    /// <summary>The sortable run id.</summary>
    public required string Id { get; init; }
    /// <summary>The project.</summary>
    public required string Project { get; init; }
    /// <summary>The run name.</summary>
    public required string Name { get; init; }
    /// <summary>The state.</summary>
    public required RunState State { get; init; }
    /// <summary>When it started (UTC).</summary>
    public required DateTimeOffset StartTime { get; init; }
    /// <summary>When it ended (UTC), or <see langword="null"/> while running.</summary>
    public DateTimeOffset? EndTime { get; init; }
    /// <summary>The duration, or <see langword="null"/> while running.</summary>
    public TimeSpan? Duration => EndTime - StartTime;
    /// <summary>The parent run of a nested run.</summary>
    public string? ParentId { get; init; }
    /// <summary>The iteration number of a hyper-parameter child run.</summary>
    public int? Iteration { get; init; }
    /// <summary>The machine name.</summary>
    public string? Host { get; init; }
    /// <summary>The git commit when started inside a git work tree.</summary>
    public string? GitCommit { get; init; }
    /// <summary>Whether the work tree had uncommitted changes.</summary>
    public bool? GitDirty { get; init; }
    /// <summary>The error of a failed or aborted run.</summary>
    public string? Error { get; init; }
    /// <summary>The stack trace of a failed run.</summary>
    public string? ErrorStack { get; init; }
    /// <summary>Labels (tags), overwritable.</summary>
    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();
    /// <summary>Parameters in invariant string form, immutable once logged.</summary>
    public IReadOnlyDictionary<string, string> Parameters { get; init; } = new Dictionary<string, string>();
    /// <summary>Results (scalars).</summary>
    public IReadOnlyDictionary<string, double> Results { get; init; } = new Dictionary<string, double>();
    /// <summary>The latest value of every metric key.</summary>
    public IReadOnlyDictionary<string, double> Metrics { get; init; } = new Dictionary<string, double>();
    /// <summary>Inputs and outputs (artifact URIs).</summary>
    public IReadOnlyList<RunLink> Links { get; init; } = [];

    /// <summary>The inputs by name.</summary>
    public IReadOnlyDictionary<string, string> Inputs => Links.Where(l => l.Direction == RunLinkDirection.Input).ToDictionary(l => l.Name, l => l.Uri);

    /// <summary>The outputs by name.</summary>
    public IReadOnlyDictionary<string, string> Outputs => Links.Where(l => l.Direction == RunLinkDirection.Output).ToDictionary(l => l.Name, l => l.Uri);
}

/// <summary>One page of a run search.</summary>
/// <param name="Runs">The runs of this page.</param>
/// <param name="NextPageToken">Pass it as <see cref="RunQuery.PageToken"/> for the next page; <see langword="null"/> on the last page.</param>
public sealed record RunPage(IReadOnlyList<RunRecord> Runs, string? NextPageToken);
