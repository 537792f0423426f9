using System.Diagnostics;
using System.Runtime.CompilerServices;
using MLOps.Artifacts;
using MLOps.FeatureStore.FeatureSets;
using MLOps.FeatureStore.Internal;
using MLOps.FeatureStore.Offline;
using MLOps.FeatureStore.Sources;
using MLOps.FeatureStore.Transformations;
using D = MLOps.FeatureStore.FeatureStoreDiagnostics;

namespace MLOps.FeatureStore.Ingestion;

/// <summary>
/// One batch ingestion into a feature set: reads the source chunk by chunk (one chunk ahead), runs the graph (steps,
/// then window aggregations in event-time order, sorting when the source is not in time order), writes the offline
/// files and the statistics on their own stages, stages the latest row per entity, and commits everything at the end
/// (see <see cref="FeatureStoreCatalog.IngestAsync"/>). The state of the ingestion lives in the fields of one instance.
/// </summary>
internal sealed partial class FeatureIngestion : IAsyncDisposable
{
    /// <summary>How many computed batches may wait for the offline writer (or the statistics).</summary>
    private const int OutputQueue = 2;

    private readonly FeatureStoreContext _store;
    private readonly CatalogRecords _records;
    private readonly FeatureSet _set;
    private readonly DataSource _source;
    private readonly IngestOptions _options;
    private readonly string _ingestId;
    private readonly long _sequence;
    private readonly DateTimeOffset _started;
    private readonly Stopwatch _clock;
    private readonly FeatureSet? _stored;
    private readonly CancellationToken _cancellationToken;
    private readonly Activity? _activity;

    private readonly Dictionary<string, string> _fitted;
    private readonly FeatureStepContext _context;
    private readonly FeatureComputer _computer;
    private readonly bool _writeOnline;
    private readonly bool _aggregated;
    private readonly bool _writeOffline;
    private readonly string _root;
    private readonly string[] _pushFiles;
    private readonly HashSet<(string Key, long Time)>? _batchKeys;

    /// <summary>The schema: the stored one, then fixed by the first computed batch.</summary>
    private IReadOnlyList<FeatureColumn>? _schema;
    private FeatureSet? _current;
    private OnlineTable? _table;
    private OnlineStaging? _staging;
    private IReadOnlyList<FeatureColumn>? _offlineColumns;
    private DatasetProfileBuilder _profile = new("feature-set");
    private long _profiled, _rowsRead, _rowsWritten;
    private int _chunks;
    private OfflineWriteSession? _session;
    private EventSorter? _sorter;
    private long _lastTime = long.MinValue;

    // the offline writer and the statistics profiler consume the computed batches on their own tasks (each in order),
    // overlapping the reading and computing of the next chunks; a chunk is disposed when both are done with it
    private OutputStage? _offlineStage, _statisticsStage;
    private ChunkLease? _lease;

    private FeatureIngestion(FeatureStoreContext store, CatalogRecords records, FeatureSet set, DataSource source, IngestOptions options, string ingestId, long sequence,
        DateTimeOffset started, Stopwatch clock, FeatureSet? stored, Activity? activity, CancellationToken cancellationToken)
    {
        _activity = activity;
        _store = store;
        _records = records;
        _set = set;
        _source = source;
        _options = options;
        _ingestId = ingestId;
        _sequence = sequence;
        _started = started;
        _clock = clock;
        _stored = stored;
        _cancellationToken = cancellationToken;

        _fitted = new Dictionary<string, string>(stored?.Fitted ?? set.Fitted, StringComparer.Ordinal);
        foreach (var (k, v) in set.Fitted) _fitted.TryAdd(k, v);
        _context = store.StepContext(set.Name, isRealTime: false, _fitted, canFit: true);
        _schema = stored?.Schema;
        if (_schema is not null && set.DeclaredFeatures.Count > 0)
            _schema = FeatureSetSpec.Merge(set.Name, _schema, set.DeclaredFeatures).Schema;
        _writeOffline = options.Offline ?? set.Offline;
        _writeOnline = options.Online ?? set.Online;
        var stateTable = store.StateTable(set, _schema);
        // the stored schema types the columns of a chunk that has no value in them
        _computer = new FeatureComputer(_schema is null ? set : set.WithSchema(_schema, set.Fitted, set.Version), _context,
            set.Aggregations.Count > 0 ? store.OnlineStore : null, stateTable, sequence);
        _aggregated = set.Aggregations.Count > 0;
        _root = store.SetRoot(set.Name);
        _session = NewSession();
        // a batch is authoritative for its (entity, event time) keys: pushed rows at them are removed from the push files
        _pushFiles = _session is not null && set.TimestampColumn is not null ? OfflineStore.Files(_root).Where(OfflineStore.IsPushFile).ToArray() : [];
        _batchKeys = _pushFiles.Length > 0 ? new HashSet<(string Key, long Time)>() : null;
    }

    /// <summary>Whether the ingestion committed (from then on, its claimed number is used).</summary>
    private bool Committed { get; set; }

    /// <summary>Checks the options, then ingests under the set's lock (see <see cref="FeatureStoreCatalog.IngestAsync"/>).</summary>
    public static async Task<IngestReport> IngestAsync(FeatureStoreContext store, CatalogRecords records, PushBuffers pushes, FeatureSet set, DataSource source,
        IngestOptions options, CancellationToken cancellationToken)
    {
        var problems = options.Validate();
        if (problems.Count > 0) throw new ValidationException("The ingestion options are invalid", problems);

        return await store.UnderLockAsync(set.Name, () => ObservedAsync(store, records, pushes, set, source, options, cancellationToken), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Ingests with a span, the metrics and the log of the outcome.</summary>
    private static async Task<IngestReport> ObservedAsync(FeatureStoreContext store, CatalogRecords records, PushBuffers pushes, FeatureSet set, DataSource source,
        IngestOptions options, CancellationToken cancellationToken)
    {
        var start = Stopwatch.GetTimestamp();
        using var activity = FeatureStoreTelemetry.Start(D.IngestActivity, store.Project.Name);
        activity?.SetTag(D.FeatureSetTag, set.Name);
        var telemetry = store.Telemetry;
        var ingestId = new StrongBox<string?>(options.IngestId); // the generated id, once there is one
        try
        {
            var report = await IngestLockedAsync(store, records, pushes, set, source, options, activity, ingestId, cancellationToken).ConfigureAwait(false);
            if (activity is not null)
            {
                activity.SetTag(D.FeatureSetVersionTag, report.Version);
                activity.SetTag("mlops.ingestion.id", report.IngestId);
                activity.SetTag("mlops.ingestion.rows_read", report.RowsRead);
                activity.SetTag("mlops.ingestion.rows_written", report.RowsWritten);
                activity.SetTag("mlops.ingestion.rows_dropped", report.RowsDropped);
                activity.SetTag("mlops.ingestion.already_ingested", report.AlreadyIngested);
            }

            if (report.AlreadyIngested)
            {
                FeatureStoreLog.AlreadyIngested(store.Logger, report.IngestId, set.Name);
                return report;
            }

            if (telemetry.IngestedRows.Enabled)
                telemetry.IngestedRows.Add(report.RowsWritten, new(D.ProjectTag, store.Project.Name), new(D.FeatureSetTag, set.Name));
            if (telemetry.IngestionDuration.Enabled)
                telemetry.IngestionDuration.Record(report.Duration.TotalSeconds, new(D.ProjectTag, store.Project.Name), new(D.FeatureSetTag, set.Name));
            return report;
        }
        catch (Exception e)
        {
            FeatureStoreTelemetry.Fail(activity, e);
            var elapsed = Stopwatch.GetElapsedTime(start);
            if (telemetry.IngestionDuration.Enabled)
                telemetry.IngestionDuration.Record(elapsed.TotalSeconds, new(D.ProjectTag, store.Project.Name), new(D.FeatureSetTag, set.Name), new(D.ErrorTypeTag, FeatureStoreTelemetry.ErrorType(e)));
            if (e is OperationCanceledException) FeatureStoreLog.IngestionCancelled(store.Logger, ingestId.Value, set.Name, (long)elapsed.TotalMilliseconds);
            else FeatureStoreLog.IngestionFailed(store.Logger, e, ingestId.Value, set.Name, (long)elapsed.TotalMilliseconds);
            throw;
        }
    }

    private static async Task<IngestReport> IngestLockedAsync(FeatureStoreContext store, CatalogRecords records, PushBuffers pushes, FeatureSet set, DataSource source,
        IngestOptions options, Activity? activity, StrongBox<string?> generatedId, CancellationToken cancellationToken)
    {
        // pushed events go offline first, so that this ingestion can supersede them
        await pushes.FlushLockedAsync(set.Name, cancellationToken).ConfigureAwait(false);
        var started = store.Time.GetUtcNow();
        var clock = Stopwatch.StartNew();
        var ingestId = generatedId.Value = options.IngestId ?? Ids.New(store.Time);
        var (stored, status) = await records.LatestForIngestionAsync(set.Name, cancellationToken).ConfigureAwait(false);
        if (stored is not null) FeatureSetSpec.CheckKeys(stored, set);
        if (status.Completed.TryGetValue(ingestId, out var done))
            return done with { AlreadyIngested = true };

        var sequence = await records.ClaimSequenceAsync(set.Name, ingestId, started, cancellationToken).ConfigureAwait(false);
        FeatureIngestion? ingestion = null;
        try
        {
            ingestion = new FeatureIngestion(store, records, set, source, options, ingestId, sequence, started, clock, stored, activity, cancellationToken);
            await using (ingestion.ConfigureAwait(false))
                return await ingestion.RunAsync().ConfigureAwait(false);
        }
        catch (Exception) when (options.IngestId is null && ingestion is not { Committed: true })
        {
            // nothing numbered by the claim was committed: give the number back, so the failure leaves no trace (a
            // retry with a caller's id keeps its claim and number, see IngestOptions.IngestId)
            try
            {
                await records.ReleaseSequenceAsync(set.Name, ingestId).ConfigureAwait(false);
            }
            catch (MLOpsException e)
            {
                FeatureStoreLog.SequenceNotReleased(store.Logger, e, sequence, set.Name);
            }
            throw;
        }
    }

    private OfflineWriteSession? NewSession()
        => _writeOffline ? new OfflineWriteSession(_root, _set.Partitioning, _set.TimestampColumn, _sequence) : null;

    private async Task<IngestReport> RunAsync()
    {
        IReadOnlyList<string> files = [];
        try
        {
            StartStages();
            await ReadAndComputeAsync().ConfigureAwait(false);
            if (_sorter is not null)
            {
                await foreach (var sorted in _sorter.ReadSortedAsync(_options.ChunkSize, _cancellationToken).ConfigureAwait(false))
                    await AggregateAndWriteAsync(sorted).ConfigureAwait(false);
            }

            if (await _computer.FlushAsync(_cancellationToken).ConfigureAwait(false) is { } last)
                await WriteOutputAsync(last).ConfigureAwait(false);
            await FinishStagesAsync().ConfigureAwait(false);
            files = await CommitAsync().ConfigureAwait(false);
        }
        finally
        {
            await DisposeAsync().ConfigureAwait(false);
        }

        var statistics = _profiled > 0 ? _profile.Build() : null;
        var report = new IngestReport
        {
            IngestId = _ingestId,
            Sequence = _sequence,
            FeatureSet = _set.Name,
            Version = _current!.Version ?? 0,
            Source = _source.Description,
            RowsRead = _rowsRead,
            RowsWritten = _rowsWritten,
            RowsDropped = _rowsRead - _rowsWritten,
            DropReasons = _context.Dropped.ToArray(),
            Warnings = _context.Warnings.ToArray(),
            OnlineEntities = _staging?.Entities.Count ?? 0,
            OfflineFiles = files,
            Started = _started,
            Duration = _clock.Elapsed,
            Statistics = statistics,
        };
        await _records.CompleteIngestionAsync(_current, report, _cancellationToken).ConfigureAwait(false);
        _activity?.SetTag("mlops.ingestion.chunks", _chunks);
        FeatureStoreLog.Ingested(_store.Logger, _rowsWritten, _set.Name, report.Version, report.RowsDropped, _rowsRead, _chunks, (long)report.Duration.TotalMilliseconds, _ingestId);
        return report;
    }

    /// <summary>Reads the source (the next chunk while this one is computed) and computes every chunk, or sorts it.</summary>
    private async Task ReadAndComputeAsync()
    {
        var chunks = _source.ReadAsync(_options.ChunkSize, FeatureStoreContext.TypeHints(_set), FeatureStoreContext.TextColumns(_set), _cancellationToken);
        await foreach (var raw in ReadAhead(chunks, _source.OwnsBatches).ConfigureAwait(false))
        {
            // output columns may share its memory: disposed when the chunk is computed and its outputs written
            _lease = _source.OwnsBatches ? new ChunkLease(raw) : null;
            try
            {
                if (raw.Length == 0) continue; // no rows: its column types (all strings for an empty CSV or JSON) say nothing
                var transformed = _computer.Transform(raw, _rowsRead, _source.Description, _source.Zone);
                _rowsRead += raw.Length;
                // windows need time order: a source in time order streams through (the fast path, no copy); at the first
                // chunk out of order (or at once without an offline target to read back), everything goes through the sorter
                if (_aggregated && _sorter is null && (_session is null || !InTimeOrder(transformed, _set.TimestampColumn!, ref _lastTime)))
                {
                    var sortParent = _root; // sorted runs spill next to the set's offline files
                    EventSorter.DeleteStale(sortParent);
                    _sorter = new EventSorter(_set.TimestampColumn!, _options.SortMemoryBudget, sortParent);
                    await RestartInTimeOrderAsync().ConfigureAwait(false);
                }

                if (_sorter is not null)
                    await _sorter.AddAsync(transformed, _cancellationToken).ConfigureAwait(false);
                else
                    await AggregateAndWriteAsync(transformed).ConfigureAwait(false);
                _chunks++;
                _options.Progress?.Report(new IngestProgress(_rowsRead, _computer.RowsPassed, _context.Dropped.Sum(d => d.Count) + _computer.RowsDroppedByFilters, _chunks, _clock.Elapsed));
            }
            finally
            {
                _lease?.Release();
                _lease = null;
            }
        }
    }

    /// <summary>Stops the stages, then deletes what was not committed (the session's files, the sorter's runs). Idempotent.</summary>
    public async ValueTask DisposeAsync()
    {
        await StopStagesAsync().ConfigureAwait(false); // before the files are deleted
        if (_session is not null) await _session.DisposeAsync().ConfigureAwait(false);
        _session = null;
        if (_sorter is not null) await _sorter.DisposeAsync().ConfigureAwait(false);
        _sorter = null;
    }

    private void StartStages()
    {
        var writer = _session;
        var builder = _profile;
        long sampled = 0;
        _offlineStage = writer is null ? null : new OutputStage(
            (output, _, ct) => writer.WriteAsync(OfflineStore.Conform(Arrays.WithColumn(output, OfflineStore.OrderColumn, IngestOrder(output, _sequence)), _offlineColumns!), ct),
            OutputQueue, _cancellationToken);
        _statisticsStage = _options.StatisticsMaxRows == 0 ? null : new OutputStage(
            (output, take, _) =>
            {
                var stats = OfflineStore.Conform(output, _schema!);
                builder.Add(take == stats.Length ? stats : stats.Slice(0, take));
                // the sample is complete: the statistics are built now, while the rest of the source is ingested
                if ((sampled += take) >= _options.StatisticsMaxRows) builder.Build();
                return Task.CompletedTask;
            },
            OutputQueue, _cancellationToken);
    }

    /// <summary>Waits for the stages to consume everything queued (throwing a stage's failure) and stops them.</summary>
    private async Task FinishStagesAsync()
    {
        try
        {
            if (_offlineStage is not null) await _offlineStage.CompleteAsync().ConfigureAwait(false);
            if (_statisticsStage is not null) await _statisticsStage.CompleteAsync().ConfigureAwait(false);
        }
        finally
        {
            await StopStagesAsync().ConfigureAwait(false);
        }
    }

    private async Task StopStagesAsync()
    {
        if (_offlineStage is not null) await _offlineStage.DisposeAsync().ConfigureAwait(false);
        if (_statisticsStage is not null) await _statisticsStage.DisposeAsync().ConfigureAwait(false);
        _offlineStage = _statisticsStage = null;
    }

    /// <summary>Writes one computed batch: fixes the schema on the first one, then offline, online (staged) and statistics.</summary>
    private async Task WriteOutputAsync(RecordBatch output)
    {
        var columns = FeatureStoreContext.OutputColumns(output);
        if (_current is null)
        {
            // stored when the ingestion completes, with every value fitted by then (a chunk without values fits nothing)
            var merged = FeatureSetSpec.Merge(_set.Name, _schema, columns);
            _current = _set.WithSchema(merged.Schema, _fitted, null);
            _schema = _current.Schema!;
            _table = _store.OnlineTableOf(_current);
            _staging = _writeOnline ? new OnlineStaging(FeatureStoreContext.OnlineColumns(_table)) : null;
            _offlineColumns = [.. _schema, new FeatureColumn(OfflineStore.OrderColumn, FeatureType.Int64)];
        }
        else
        {
            var merged = FeatureSetSpec.Merge(_set.Name, _schema, columns);
            if (merged.Changed)
                throw new ValidationException(
                    $"Feature set '{_set.Name}': column(s) {string.Join(", ", columns.Select(c => c.Name).Except(_schema!.Select(s => s.Name)).Select(n => $"'{n}'"))} first appear in chunk {_chunks + 1} (rows up to {_rowsRead}), after the schema was fixed by the first chunk. Declare them with .Feature(name, type) so every chunk has them.");
        }

        if (output.Length == 0) return;
        _rowsWritten += output.Length;
        if (_offlineStage is not null)
            await _offlineStage.AddAsync(output, output.Length, _lease, _cancellationToken).ConfigureAwait(false);
        if (_staging is not null)
            _store.StageOnline(_current, _computer, _staging, output);
        if (_batchKeys is not null)
        {
            var keys = _computer.EntityKeys(output);
            var times = ((TimestampArray)output.Column(_set.TimestampColumn!)).Values;
            for (var i = 0; i < keys.Length; i++) _batchKeys.Add((keys[i], times[i]));
        }

        if (_profiled < _options.StatisticsMaxRows)
        {
            var take = (int)Math.Min(output.Length, _options.StatisticsMaxRows - _profiled);
            await _statisticsStage!.AddAsync(output, take, _lease, _cancellationToken).ConfigureAwait(false);
            _profiled += take;
        }
    }

    /// <summary>
    /// The source turned out not to be in time order: what was aggregated so far is read back (from the offline files
    /// written, plus the rows held back) into the sorter, and the aggregation starts again from the stored state.
    /// </summary>
    private async Task RestartInTimeOrderAsync()
    {
        await FinishStagesAsync().ConfigureAwait(false);
        var replay = _session is null ? [] : await _session.CloseFilesAsync(_cancellationToken).ConfigureAwait(false);
        if (replay.Count > 0)
        {
            var outputs = _set.Aggregations.SelectMany(a => a.Outputs()).Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
            var transformed = _schema!.Where(c => !outputs.Contains(c.Name)).Append(new FeatureColumn(FeatureStepContext.RowNumberColumn, FeatureType.Int64)).ToArray();
            var names = _offlineColumns!.Select(c => c.Name).ToArray();
            foreach (var file in replay)
            {
                await foreach (var batch in DatasetReader.ReadParquetAsync(file, new ParquetReadOptions { Columns = names, BatchSize = _options.ChunkSize }, _cancellationToken).ConfigureAwait(false))
                {
                    using (batch)
                        await _sorter!.AddAsync(OfflineStore.Conform(ReplayedRows(batch), transformed), _cancellationToken).ConfigureAwait(false);
                }
            }
        }

        if (_computer.TakeHeld() is { } held) await _sorter!.AddAsync(held, _cancellationToken).ConfigureAwait(false);
        if (_session is not null) await _session.DisposeAsync().ConfigureAwait(false);
        _session = NewSession();
        _computer.ResetAggregation();
        _staging?.Clear();
        _batchKeys?.Clear();
        _profile = new DatasetProfileBuilder("feature-set");
        _profiled = 0;
        _rowsWritten = 0;
        StartStages();
    }

    private async Task AggregateAndWriteAsync(RecordBatch transformed)
    {
        foreach (var output in await _computer.AggregateChunkAsync(transformed, _cancellationToken).ConfigureAwait(false))
            await WriteOutputAsync(output).ConfigureAwait(false);
    }
}
