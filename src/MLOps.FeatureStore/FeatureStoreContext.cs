using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using MLOps.FeatureStore.FeatureSets;
using MLOps.FeatureStore.Ingestion;
using MLOps.FeatureStore.Internal;
using MLOps.FeatureStore.Transformations;

namespace MLOps.FeatureStore;

/// <summary>
/// What the parts of a feature store share: the project, the options, the stores' locations, the per-set locks and the
/// logger. The parts (<see cref="FeatureSets.CatalogRecords"/>, the ingestion, the push buffers, offline and online
/// retrieval) each hold one; <see cref="FeatureStoreCatalog"/> is the public façade over them.
/// </summary>
internal sealed class FeatureStoreContext : IDisposable
{
    /// <summary>The online timestamp column of a set without event time (ingestion time).</summary>
    internal const string StaticTimestampColumn = "_ingested_at";

    private readonly Lazy<IOnlineStore> _online;
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _setLocks = new(StringComparer.Ordinal);

    public FeatureStoreContext(MLOpsProject project, FeatureStoreOptions options)
    {
        Project = project;
        Options = options;
        OwnsOnline = options.OnlineStore is null;
        _online = new Lazy<IOnlineStore>(() => options.OnlineStore ?? new SqliteOnlineStore(Path.Combine(project.Options.ResolveHome(), "online.db")));
        OfflineRoot = options.OfflineRoot ?? Path.Combine(project.ArtifactRoot, "feature-sets");
        Logger = project.LoggerFactory.CreateLogger("MLOps.FeatureStore");
        Telemetry = FeatureStoreTelemetry.For(project);
    }

    public MLOpsProject Project { get; }

    public FeatureStoreOptions Options { get; }

    public TimeProvider Time => Project.TimeProvider;

    public IOnlineStore OnlineStore => _online.Value;

    /// <summary>Whether the online store is the default one, created (and disposed) by the feature store.</summary>
    public bool OwnsOnline { get; }

    /// <summary>Whether the online store was created (a store never used need not be disposed).</summary>
    public bool OnlineCreated => _online.IsValueCreated;

    public string OfflineRoot { get; }

    public FeatureStepRegistry Steps { get; } = new();

    public ILogger Logger { get; }

    /// <summary>The instruments (spans come from <see cref="FeatureStoreTelemetry.Source"/>).</summary>
    public FeatureStoreTelemetry Telemetry { get; }

    /// <summary>The offline folder of a set.</summary>
    public string SetRoot(string set) => Path.Combine(OfflineRoot, Project.Name, set);

    /// <summary>The lock that serializes ingestions, pushes, flushes and deletion of one set within the process.</summary>
    public SemaphoreSlim LockOf(string set) => _setLocks.GetOrAdd(set, _ => new SemaphoreSlim(1, 1));

    /// <summary>Runs an operation under a set's lock.</summary>
    public async Task<T> UnderLockAsync<T>(string set, Func<Task<T>> operation, CancellationToken cancellationToken)
    {
        var gate = LockOf(set);
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await operation().ConfigureAwait(false);
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>The online table of a set with a schema.</summary>
    public OnlineTable OnlineTableOf(FeatureSet set)
    {
        var schema = set.Schema ?? throw new InvalidStateException($"Feature set '{set.Name}' has no schema yet; ingest data first.");
        var byName = schema.ToDictionary(c => c.Name, StringComparer.Ordinal);
        var entities = set.Entities.Select(e => byName.TryGetValue(e, out var c) ? c : new FeatureColumn(e, FeatureType.String)).ToArray();
        var features = schema.Where(c => !set.IsKeyOrTime(c.Name) && c.Name != set.LabelColumn).ToArray();
        return new OnlineTable(Project.Name, set.Name, entities, set.TimestampColumn ?? StaticTimestampColumn, features);
    }

    /// <summary>The online table of a set as far as window state needs it (the entities), before the schema is known.</summary>
    public OnlineTable StateTable(FeatureSet set, IReadOnlyList<FeatureColumn>? schema)
        => new(Project.Name, set.Name, set.Entities.Select(e => schema?.FirstOrDefault(c => c.Name == e) ?? new FeatureColumn(e, FeatureType.String)).ToArray(),
            set.TimestampColumn ?? StaticTimestampColumn, []);

    /// <summary>A step context of the set for this store.</summary>
    public FeatureStepContext StepContext(string set, bool isRealTime, IDictionary<string, string> fitted, bool canFit)
        => new(set, isRealTime, Time, Logger, fitted, canFit);

    /// <summary>Stages the latest row of every entity of a computed batch (a set without event time: the time now).</summary>
    public void StageOnline(FeatureSet set, FeatureComputer computer, OnlineStaging staging, RecordBatch output)
    {
        var keys = computer.EntityKeys(output);
        if (set.TimestampColumn is { } tsColumn)
        {
            staging.Add(keys, ((TimestampArray)output.Column(tsColumn)).Values, output);
            return;
        }

        var ts = new long[output.Length];
        Array.Fill(ts, Timestamps.FromDateTimeOffset(Time.GetUtcNow()));
        staging.Add(keys, ts, Arrays.WithColumn(output, StaticTimestampColumn, Arrays.Timestamps(ts, Enumerable.Repeat(true, ts.Length).ToArray())));
    }

    /// <summary>The columns written online: the entities, the timestamp column and the features.</summary>
    public static FeatureColumn[] OnlineColumns(OnlineTable table)
        => [.. table.Entities, new FeatureColumn(table.TimestampColumn, FeatureType.Timestamp), .. table.Features];

    /// <summary>The type hints given to a source: the declared features.</summary>
    public static Dictionary<string, FeatureType> TypeHints(FeatureSet set)
    {
        // The timestamp column is not hinted: a source would parse its text without the set's format (and with a
        // message that does not say which formats are expected); the normalizer converts it with the format. A CSV
        // file, which infers types from its text, is told to leave it as text by TextColumns.
        var hints = new Dictionary<string, FeatureType>(StringComparer.Ordinal);
        foreach (var c in set.DeclaredFeatures) hints[c.Name] = c.Type;
        return hints;
    }

    /// <summary>
    /// The columns a source that infers types from text (CSV) must leave as text: the timestamp column when the set has
    /// a timestamp format, so that the normalizer parses it with the format (text that also reads as ISO 8601, such as
    /// year-day-month dates, would otherwise be read as year-month-day).
    /// </summary>
    public static HashSet<string> TextColumns(FeatureSet set)
    {
        var text = new HashSet<string>(StringComparer.Ordinal);
        if (set.TimestampColumn is { } column && set.TimestampFormat is not null) text.Add(column);
        return text;
    }

    /// <summary>The feature columns of a computed batch (without the row number).</summary>
    public static FeatureColumn[] OutputColumns(RecordBatch output)
        => output.Schema.FieldsList.Where(f => f.Name != FeatureStepContext.RowNumberColumn)
            .Select(f => new FeatureColumn(f.Name, Arrays.FeatureTypeOf(f.DataType) ?? throw new InvalidStateException($"Column '{f.Name}' has the type {f.DataType.Name}, which a step must not produce; use double, int64, bool, string or timestamp[us, UTC].")))
            .ToArray();

    /// <summary>Disposes the set locks.</summary>
    public void Dispose()
    {
        foreach (var l in _setLocks.Values) l.Dispose();
    }
}
