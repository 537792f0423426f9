using System.Runtime.CompilerServices;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Apache.Arrow.Types;
using MLOps.Artifacts;
using MLOps.FeatureStore.FeatureSets;
using MLOps.FeatureStore.Ingestion;
using MLOps.FeatureStore.Internal;
using MLOps.FeatureStore.Offline;
using MLOps.FeatureStore.Online;
using MLOps.FeatureStore.Sources;
using MLOps.FeatureStore.Transformations;

namespace MLOps.FeatureStore;

public sealed partial class FeatureStoreCatalog
{
    private const int CompletedKept = 100;

    /// <summary>
    /// Ingests a source into a feature set: reads it chunk by chunk, runs the graph (steps, then window aggregations, in
    /// event-time order whatever the source's row order: see <see cref="IngestOptions.SortMemoryBudget"/>), writes the
    /// offline Parquet files and stages the latest row per entity, then commits the offline files and, in one online
    /// write, the online rows and the window state (a failed online write undoes the offline commit), and stores
    /// statistics on the feature set. A definition that changed (or values fitted by this ingestion) is saved as a new
    /// version when the ingestion completes; a failed or cancelled ingestion saves none and changes neither store. Rows
    /// of the batch supersede events pushed earlier at the same entity and event time.
    /// </summary>
    /// <param name="set">The feature set (a definition from the builder, or one loaded from the store).</param>
    /// <param name="source">The source.</param>
    /// <param name="options">Options: ingestion id (for idempotent retries), chunk size, progress, targets.</param>
    /// <param name="cancellationToken">Cancels the ingestion; no offline file of it is left behind.</param>
    /// <returns>The report.</returns>
    /// <exception cref="ValidationException">Bad input: a missing entity or timestamp column, an unparsable timestamp, a type
    /// change, a row that fails a validator with the fail policy. The message names the column, the row and the rule.</exception>
    public async Task<IngestReport> IngestAsync(FeatureSet set, DataSource source, IngestOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(set);
        ArgumentNullException.ThrowIfNull(source);
        options ??= new IngestOptions();
        var problems = new List<string>();
        if (options.SortMemoryBudget <= 0) problems.Add($"SortMemoryBudget {options.SortMemoryBudget} must be positive (default {IngestOptions.DefaultSortMemoryBudget:N0} bytes).");
        if (options.ChunkSize <= 0) problems.Add($"ChunkSize {options.ChunkSize} must be positive (default {IngestOptions.DefaultChunkSize}).");
        if (options.StatisticsMaxRows < 0) problems.Add($"StatisticsMaxRows {options.StatisticsMaxRows} must not be negative.");
        if (options.IngestId is { } id && (string.IsNullOrWhiteSpace(id) || id.Length > 200)) problems.Add($"IngestId '{id}' must be 1-200 characters.");
        if (problems.Count > 0) throw new ValidationException("The ingestion options are invalid", problems);

        var gate = LockOf(set.Name);
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await IngestLockedAsync(set, source, options, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            gate.Release();
        }
    }

    private async Task<IngestReport> IngestLockedAsync(FeatureSet set, DataSource source, IngestOptions options, CancellationToken cancellationToken)
    {
        // pushed events go offline first, so that this ingestion can supersede them
        await FlushPushesLockedAsync(set.Name, cancellationToken).ConfigureAwait(false);
        var started = Project.TimeProvider.GetUtcNow();
        var clock = Stopwatch.StartNew();
        var ingestId = options.IngestId ?? Ids.New(Project.TimeProvider);
        var storedRecord = await Project.Store.Specs.GetAsync(Project.Name, FeatureSetSpec.Kind, set.Name, "latest", cancellationToken).ConfigureAwait(false);
        // the stored version gives the schema and fitted values; its steps are the given definition's business
        var stored = storedRecord is null ? null : FeatureSetSpec.FromJson(storedRecord.Body, null, storedRecord.Description, storedRecord.Labels, storedRecord.Version);
        if (stored is not null) FeatureSetSpec.CheckKeys(stored, set);
        // a version saved since the last ingestion has no status yet: the completed ingestions are those of the last one
        var status = FeatureSetStatus.FromJson(storedRecord is null ? null : storedRecord.Status ?? await CarriedStatusAsync(set.Name, cancellationToken).ConfigureAwait(false));
        if (status.Completed.TryGetValue(ingestId, out var done))
            return done with { AlreadyIngested = true };

        var sequence = await Project.Store.Specs.ClaimSequenceAsync(Project.Name, $"feature-set/{set.Name}", ingestId, started, cancellationToken).ConfigureAwait(false);
        var committed = new StrongBox<bool>();
        try
        {
            return await IngestClaimedAsync(set, source, options, ingestId, sequence, started, clock, stored, committed, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception) when (options.IngestId is null && !committed.Value)
        {
            // nothing numbered by the claim was committed: give the number back, so the failure leaves no trace (a
            // retry with a caller's id keeps its claim and number, see IngestOptions.IngestId)
            try
            {
                await Project.Store.Specs.ReleaseSequenceAsync(Project.Name, $"feature-set/{set.Name}", ingestId, CancellationToken.None).ConfigureAwait(false);
            }
            catch (MLOpsException e)
            {
                _logger.LogWarning(e, "Could not release the ingestion number {Sequence} of feature set {Set}", sequence, set.Name);
            }
            throw;
        }
    }

    private async Task<IngestReport> IngestClaimedAsync(FeatureSet set, DataSource source, IngestOptions options, string ingestId, long sequence,
        DateTimeOffset started, Stopwatch clock, FeatureSet? stored, StrongBox<bool> committed, CancellationToken cancellationToken)
    {
        var fitted = new Dictionary<string, string>(stored?.Fitted ?? set.Fitted, StringComparer.Ordinal);
        foreach (var (k, v) in set.Fitted) fitted.TryAdd(k, v);
        var context = new FeatureStepContext(set.Name, isRealTime: false, Project.TimeProvider, _logger, fitted, canFit: true);
        var schema = stored?.Schema;
        if (schema is not null && set.DeclaredFeatures.Count > 0)
            schema = FeatureSetSpec.Merge(set.Name, schema, set.DeclaredFeatures).Schema;
        var writeOffline = options.Offline ?? set.Offline;
        var writeOnline = options.Online ?? set.Online;
        var stateTable = StateTable(set, schema);
        // the stored schema types the columns of a chunk that has no value in them
        var computer = new FeatureComputer(schema is null ? set : set.WithSchema(schema, set.Fitted, set.Version), context, set.Aggregations.Count > 0 ? OnlineStore : null, stateTable, sequence);

        FeatureSet? current = null;
        OnlineTable? table = null;
        OnlineStaging? staging = null;
        IReadOnlyList<FeatureColumn>? offlineColumns = null;
        var profile = new DatasetProfileBuilder("feature-set");
        long profiled = 0, rowsRead = 0, rowsWritten = 0;
        var chunks = 0;
        var aggregated = set.Aggregations.Count > 0;
        var root = SetRoot(set.Name);
        OfflineWriteSession? NewSession() => writeOffline ? new OfflineWriteSession(root, set.Partitioning, set.TimestampColumn, sequence) : null;
        var session = NewSession();
        // a batch is authoritative for its (entity, event time) keys: pushed rows at them are removed from the push files
        var pushFiles = session is not null && set.TimestampColumn is not null ? OfflineStore.Files(root).Where(OfflineStore.IsPushFile).ToArray() : [];
        var batchKeys = pushFiles.Length > 0 ? new HashSet<(string Key, long Time)>() : null;
        EventSorter? sorter = null;
        var lastTime = long.MinValue;
        // the offline writer and the statistics profiler consume the computed batches on their own tasks (each in order),
        // overlapping the reading and computing of the next chunks; a chunk is disposed when both are done with it
        OutputStage? offlineStage = null, statisticsStage = null;
        ChunkLease? lease = null;
        void StartStages()
        {
            var writer = session;
            var builder = profile;
            long sampled = 0;
            offlineStage = writer is null ? null : new OutputStage(
                (output, _, ct) => writer.WriteAsync(OfflineStore.Conform(Arrays.WithColumn(output, OfflineStore.OrderColumn, IngestOrder(output, sequence)), offlineColumns!), ct),
                OutputQueue, cancellationToken);
            statisticsStage = options.StatisticsMaxRows == 0 ? null : new OutputStage(
                (output, take, _) =>
                {
                    var stats = OfflineStore.Conform(output, schema!);
                    builder.Add(take == stats.Length ? stats : stats.Slice(0, take));
                    // the sample is complete: the statistics are built now, while the rest of the source is ingested
                    if ((sampled += take) >= options.StatisticsMaxRows) builder.Build();
                    return Task.CompletedTask;
                },
                OutputQueue, cancellationToken);
        }

        // waits for the stages to consume everything queued (throwing a stage's failure) and stops them
        async Task FinishStagesAsync()
        {
            try
            {
                if (offlineStage is not null) await offlineStage.CompleteAsync().ConfigureAwait(false);
                if (statisticsStage is not null) await statisticsStage.CompleteAsync().ConfigureAwait(false);
            }
            finally
            {
                await StopStagesAsync().ConfigureAwait(false);
            }
        }

        async Task StopStagesAsync()
        {
            if (offlineStage is not null) await offlineStage.DisposeAsync().ConfigureAwait(false);
            if (statisticsStage is not null) await statisticsStage.DisposeAsync().ConfigureAwait(false);
            offlineStage = statisticsStage = null;
        }

        // writes one computed batch: fixes the schema on the first one, then offline, online (staged) and statistics
        async Task WriteOutputAsync(RecordBatch output)
        {
            var columns = OutputColumns(output);
            if (current is null)
            {
                // stored when the ingestion completes, with every value fitted by then (a chunk without values fits nothing)
                var merged = FeatureSetSpec.Merge(set.Name, schema, columns);
                current = set.WithSchema(merged.Schema, fitted, null);
                schema = current.Schema!;
                table = OnlineTableOf(current);
                staging = writeOnline ? new OnlineStaging(OnlineColumns(table)) : null;
                offlineColumns = [.. schema, new FeatureColumn(OfflineStore.OrderColumn, FeatureType.Int64)];
            }
            else
            {
                var merged = FeatureSetSpec.Merge(set.Name, schema, columns);
                if (merged.Changed)
                    throw new ValidationException(
                        $"Feature set '{set.Name}': column(s) {string.Join(", ", columns.Select(c => c.Name).Except(schema!.Select(s => s.Name)).Select(n => $"'{n}'"))} first appear in chunk {chunks + 1} (rows up to {rowsRead}), after the schema was fixed by the first chunk. Declare them with .Feature(name, type) so every chunk has them.");
            }

            if (output.Length == 0) return;
            rowsWritten += output.Length;
            if (offlineStage is not null)
                await offlineStage.AddAsync(output, output.Length, lease, cancellationToken).ConfigureAwait(false);
            if (staging is not null)
                StageOnline(current, computer, staging, output);
            if (batchKeys is not null)
            {
                var keys = computer.EntityKeys(output);
                var times = ((TimestampArray)output.Column(set.TimestampColumn!)).Values;
                for (var i = 0; i < keys.Length; i++) batchKeys.Add((keys[i], times[i]));
            }

            if (profiled < options.StatisticsMaxRows)
            {
                var take = (int)Math.Min(output.Length, options.StatisticsMaxRows - profiled);
                await statisticsStage!.AddAsync(output, take, lease, cancellationToken).ConfigureAwait(false);
                profiled += take;
            }
        }

        // The source turned out not to be in time order: what was aggregated so far is read back (from the offline
        // files written, plus the rows held back) into the sorter, and the aggregation starts again from the stored state.
        async Task RestartInTimeOrderAsync()
        {
            await FinishStagesAsync().ConfigureAwait(false);
            var replay = session is null ? [] : await session.CloseFilesAsync(cancellationToken).ConfigureAwait(false);
            if (replay.Count > 0)
            {
                var outputs = set.Aggregations.SelectMany(a => a.Outputs()).Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
                var transformed = schema!.Where(c => !outputs.Contains(c.Name)).Append(new FeatureColumn(FeatureStepContext.RowNumberColumn, FeatureType.Int64)).ToArray();
                var names = offlineColumns!.Select(c => c.Name).ToArray();
                foreach (var file in replay)
                {
                    await foreach (var batch in DatasetReader.ReadParquetAsync(file, new ParquetReadOptions { Columns = names, BatchSize = options.ChunkSize }, cancellationToken).ConfigureAwait(false))
                    {
                        using (batch)
                            await sorter!.AddAsync(OfflineStore.Conform(ReplayedRows(batch), transformed), cancellationToken).ConfigureAwait(false);
                    }
                }
            }

            if (computer.TakeHeld() is { } held) await sorter!.AddAsync(held, cancellationToken).ConfigureAwait(false);
            if (session is not null) await session.DisposeAsync().ConfigureAwait(false);
            session = NewSession();
            computer.ResetAggregation();
            staging?.Clear();
            batchKeys?.Clear();
            profile = new DatasetProfileBuilder("feature-set");
            profiled = 0;
            rowsWritten = 0;
            StartStages();
        }

        async Task AggregateAndWriteAsync(RecordBatch transformed)
        {
            foreach (var output in await computer.AggregateChunkAsync(transformed, cancellationToken).ConfigureAwait(false))
                await WriteOutputAsync(output).ConfigureAwait(false);
        }

        IReadOnlyList<string> files = [];
        try
        {
            StartStages();
            // the next chunk is read while this one is computed
            await foreach (var raw in ReadAhead(source.ReadAsync(options.ChunkSize, TypeHints(set, schema), TextColumns(set), cancellationToken), source.OwnsBatches).ConfigureAwait(false))
            {
                // output columns may share its memory: disposed when the chunk is computed and its outputs written
                lease = source.OwnsBatches ? new ChunkLease(raw) : null;
                try
                {
                    if (raw.Length == 0) continue; // no rows: its column types (all strings for an empty CSV or JSON) say nothing
                    var transformed = computer.Transform(raw, rowsRead, source.Description, source.Zone);
                    rowsRead += raw.Length;
                    // windows need time order: a source in time order streams through (the fast path, no copy); at the first
                    // chunk out of order (or at once without an offline target to read back), everything goes through the sorter
                    if (aggregated && sorter is null && (session is null || !InTimeOrder(transformed, set.TimestampColumn!, ref lastTime)))
                    {
                        EventSorter.DeleteStale(SortParent(set.Name));
                        sorter = new EventSorter(set.TimestampColumn!, options.SortMemoryBudget, SortParent(set.Name));
                        await RestartInTimeOrderAsync().ConfigureAwait(false);
                    }

                    if (sorter is not null)
                        await sorter.AddAsync(transformed, cancellationToken).ConfigureAwait(false);
                    else
                        await AggregateAndWriteAsync(transformed).ConfigureAwait(false);
                    chunks++;
                    options.Progress?.Report(new IngestProgress(rowsRead, computer.RowsPassed, context.Dropped.Sum(d => d.Count) + computer.RowsDroppedByFilters, chunks, clock.Elapsed));
                }
                finally
                {
                    lease?.Release();
                    lease = null;
                }
            }

            if (sorter is not null)
            {
                await foreach (var sorted in sorter.ReadSortedAsync(options.ChunkSize, cancellationToken).ConfigureAwait(false))
                    await AggregateAndWriteAsync(sorted).ConfigureAwait(false);
            }

            if (await computer.FlushAsync(cancellationToken).ConfigureAwait(false) is { } last)
                await WriteOutputAsync(last).ConfigureAwait(false);
            await FinishStagesAsync().ConfigureAwait(false);

            if (current is null)
            {
                if (stored is null)
                    throw new ValidationException($"The source ({source.Description}) has no rows and feature set '{set.Name}' has no stored schema, so nothing can be ingested. Ingest a non-empty source first.");
                current = stored;
                table = OnlineTableOf(current);
            }
            else if (current.Version is null)
            {
                cancellationToken.ThrowIfCancellationRequested();
                current = await StoreAsync(current.WithSchema(current.Schema!, new Dictionary<string, string>(fitted, StringComparer.Ordinal), null), cancellationToken).ConfigureAwait(false);
            }

            cancellationToken.ThrowIfCancellationRequested();
            // prepared even when this ingestion does not write online: pushes (the real-time path) always do
            await OnlineStore.PrepareAsync(table!, cancellationToken).ConfigureAwait(false);
            if (batchKeys is { Count: > 0 } && session is not null)
                await SupersedePushedRowsAsync(session, pushFiles, batchKeys, computer, set.TimestampColumn!, cancellationToken).ConfigureAwait(false);
            files = await CommitAsync(session, table!, staging, aggregated ? computer.WindowState() : null, cancellationToken).ConfigureAwait(false);
            committed.Value = true;
        }
        finally
        {
            await StopStagesAsync().ConfigureAwait(false); // before the files are deleted
            if (session is not null) await session.DisposeAsync().ConfigureAwait(false);
            if (sorter is not null) await sorter.DisposeAsync().ConfigureAwait(false);
        }

        var statistics = profiled > 0 ? profile.Build() : null;
        var report = new IngestReport
        {
            IngestId = ingestId,
            Sequence = sequence,
            FeatureSet = set.Name,
            Version = current.Version ?? 0,
            Source = source.Description,
            RowsRead = rowsRead,
            RowsWritten = rowsWritten,
            RowsDropped = rowsRead - rowsWritten,
            DropReasons = context.Dropped.ToArray(),
            Warnings = context.Warnings.ToArray(),
            OnlineEntities = staging?.Entities.Count ?? 0,
            OfflineFiles = files,
            Started = started,
            Duration = clock.Elapsed,
            Statistics = statistics,
        };
        await CompleteAsync(current, report, cancellationToken).ConfigureAwait(false);
        _logger.LogInformation("Ingested {Rows} rows into feature set {Set} v{Version} ({Dropped} dropped) in {Ms} ms", rowsWritten, set.Name, report.Version, report.RowsDropped, (long)clock.Elapsed.TotalMilliseconds);
        return report;
    }

    private async Task CompleteAsync(FeatureSet current, IngestReport report, CancellationToken cancellationToken)
    {
        // the status of the version used, carrying over the completed ingestions of earlier versions
        var records = await Project.Store.Specs.ListVersionsAsync(Project.Name, FeatureSetSpec.Kind, current.Name, cancellationToken).ConfigureAwait(false);
        var mine = records.FirstOrDefault(r => r.Version == current.Version);
        var status = FeatureSetStatus.FromJson(mine?.Status ?? CarriedStatus(records));
        var completed = status.Completed.OrderByDescending(kv => kv.Value.Started).Take(CompletedKept - 1).ToDictionary(kv => kv.Key, kv => kv.Value);
        completed[report.IngestId] = report with { Statistics = null };
        var updated = new FeatureSetStatus
        {
            Ingestions = status.Ingestions + 1,
            RowsIngested = status.RowsIngested + report.RowsWritten,
            LastIngested = report.Started + report.Duration,
            Statistics = report.Statistics ?? status.Statistics,
            Completed = completed,
        };
        await Project.Store.Specs.UpdateStatusAsync(Project.Name, FeatureSetSpec.Kind, current.Name, current.Version!.Value, updated.ToJson(), Project.TimeProvider.GetUtcNow(), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The status of the version that was ingested last (the one a new version carries over).</summary>
    private async Task<string?> CarriedStatusAsync(string name, CancellationToken cancellationToken)
        => CarriedStatus(await Project.Store.Specs.ListVersionsAsync(Project.Name, FeatureSetSpec.Kind, name, cancellationToken).ConfigureAwait(false));

    private static string? CarriedStatus(IEnumerable<SpecRecord> versions)
        => versions.Where(r => r.Status is not null).OrderByDescending(r => r.Updated).ThenByDescending(r => r.Version).FirstOrDefault()?.Status;

    /// <summary>The online table of a set as far as window state needs it (the entities), before the schema is known.</summary>
    private OnlineTable StateTable(FeatureSet set, IReadOnlyList<FeatureColumn>? schema)
        => new(Project.Name, set.Name, set.Entities.Select(e => schema?.FirstOrDefault(c => c.Name == e) ?? new FeatureColumn(e, FeatureType.String)).ToArray(),
            set.TimestampColumn ?? StaticTimestampColumn, []);

    private static Dictionary<string, FeatureType> TypeHints(FeatureSet set, IReadOnlyList<FeatureColumn>? schema)
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
    internal static HashSet<string> TextColumns(FeatureSet set)
    {
        var text = new HashSet<string>(StringComparer.Ordinal);
        if (set.TimestampColumn is { } column && set.TimestampFormat is not null) text.Add(column);
        return text;
    }

    private static FeatureColumn[] OutputColumns(RecordBatch output)
        => output.Schema.FieldsList.Where(f => f.Name != FeatureStepContext.RowNumberColumn)
            .Select(f => new FeatureColumn(f.Name, Arrays.FeatureTypeOf(f.DataType) ?? throw new InvalidStateException($"Column '{f.Name}' has the type {f.DataType.Name}, which a step must not produce; use double, int64, bool, string or timestamp[us, UTC].")))
            .ToArray();

    /// <summary>How many computed batches may wait for the offline writer (or the statistics).</summary>
    private const int OutputQueue = 2;

    /// <summary>
    /// Reads a source one batch ahead on the thread pool, so that reading overlaps computing. A batch read ahead but not
    /// taken (the ingestion stopped) is disposed when the source owns its batches.
    /// </summary>
    private static async IAsyncEnumerable<RecordBatch> ReadAhead(IAsyncEnumerable<RecordBatch> batches, bool owned)
    {
        var reader = batches.GetAsyncEnumerator();
        var next = Task.Run(() => reader.MoveNextAsync().AsTask());
        try
        {
            while (await next.ConfigureAwait(false))
            {
                var batch = reader.Current;
                next = Task.Run(() => reader.MoveNextAsync().AsTask());
                yield return batch;
            }
        }
        finally
        {
            try
            {
                if (await next.ConfigureAwait(false) && owned) reader.Current.Dispose();
            }
            catch (Exception)
            {
                // a read that failed after the ingestion stopped: the ingestion's own exception is the one thrown
            }

            await reader.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static Int64Array IngestOrder(RecordBatch output, long sequence)
    {
        var rows = (Int64Array)output.Column(FeatureStepContext.RowNumberColumn);
        var order = new long[output.Length];
        for (var i = 0; i < order.Length; i++) order[i] = (sequence << 32) | rows.Values[i];
        var valid = new bool[order.Length];
        Array.Fill(valid, true);
        return Arrays.Int64s(order, valid);
    }

    private static RecordBatch EmptyBatch(OnlineTable table)
    {
        var columns = table.Entities.Append(new FeatureColumn(table.TimestampColumn, FeatureType.Timestamp)).ToArray();
        return new RecordBatch(new Schema(columns.Select(c => Arrays.Field(c.Name, c.Type)), null), columns.Select(c => Arrays.Nulls(c.Type, 0)), 0);
    }

    /// <summary>The columns written online: the entities, the timestamp column and the features.</summary>
    private static FeatureColumn[] OnlineColumns(OnlineTable table)
        => [.. table.Entities, new FeatureColumn(table.TimestampColumn, FeatureType.Timestamp), .. table.Features];

    /// <summary>Stages the latest row of every entity of a computed batch (a set without event time: the time now).</summary>
    private void StageOnline(FeatureSet set, FeatureComputer computer, OnlineStaging staging, RecordBatch output)
    {
        var keys = computer.EntityKeys(output);
        if (set.TimestampColumn is { } tsColumn)
        {
            staging.Add(keys, ((TimestampArray)output.Column(tsColumn)).Values, output);
            return;
        }

        var ts = new long[output.Length];
        Array.Fill(ts, Timestamps.FromDateTimeOffset(Project.TimeProvider.GetUtcNow()));
        staging.Add(keys, ts, Arrays.WithColumn(output, StaticTimestampColumn, Arrays.Timestamps(ts, Enumerable.Repeat(true, ts.Length).ToArray())));
    }

    /// <summary>
    /// Commits an ingestion: the offline files first (renamed into place, the replaced ones moved aside), then the staged
    /// online rows and the window state in one online write (one transaction). When the online write fails, the offline
    /// commit is undone, so a failure leaves both targets as they were.
    /// </summary>
    private async Task<IReadOnlyList<string>> CommitAsync(OfflineWriteSession? session, OnlineTable table, OnlineStaging? staging, Dictionary<string, byte[]>? windowState, CancellationToken cancellationToken)
    {
        IReadOnlyList<string> files = session is null ? [] : await session.CommitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var rows = staging?.ToBatch();
            if (rows is { Length: > 0 } || windowState is { Count: > 0 })
                await OnlineStore.WriteAsync(table, rows ?? EmptyBatch(table), windowState ?? [], CancellationToken.None).ConfigureAwait(false); // past the point of cancelling
        }
        catch
        {
            session?.UndoCommit();
            throw;
        }

        session?.CompleteCommit();
        return files;
    }

    /// <summary>
    /// Rewrites the push files that hold rows at (entity, event time) keys of this ingestion without those rows (or
    /// deletes them when nothing is left); the new files replace the old ones when the ingestion commits.
    /// </summary>
    private static async Task SupersedePushedRowsAsync(OfflineWriteSession session, IReadOnlyList<string> pushFiles, HashSet<(string Key, long Time)> batchKeys,
        FeatureComputer computer, string timestampColumn, CancellationToken cancellationToken)
    {
        long min = long.MaxValue, max = long.MinValue;
        foreach (var (_, t) in batchKeys)
        {
            min = Math.Min(min, t);
            max = Math.Max(max, t);
        }

        var inRange = OfflineStore.Files(session.Root, min, max).ToHashSet(StringComparer.Ordinal);
        foreach (var file in pushFiles.Where(inRange.Contains))
        {
            var read = new List<RecordBatch>();
            var kept = new List<RecordBatch>();
            var removed = 0;
            try
            {
                await foreach (var batch in DatasetReader.ReadAsync(file, DatasetFormat.Parquet, cancellationToken: cancellationToken).ConfigureAwait(false))
                {
                    read.Add(batch);
                    var keys = computer.EntityKeys(batch);
                    var times = Arrays.ToMicroseconds((TimestampArray)batch.Column(timestampColumn)).Values;
                    var keep = new List<int>(batch.Length);
                    for (var i = 0; i < keys.Length; i++)
                        if (!batchKeys.Contains((keys[i], times[i]))) keep.Add(i);
                    removed += batch.Length - keep.Count;
                    if (keep.Count == batch.Length) kept.Add(batch);
                    else if (keep.Count > 0) kept.Add(Arrays.TakeRows(batch, keep.ToArray()));
                }

                if (removed == 0) continue;
                if (kept.Count == 0)
                {
                    session.Replace(file, null);
                    continue;
                }

                var temp = Path.Combine(Path.GetDirectoryName(file)!, $".{Path.GetFileName(file)}.{Guid.NewGuid():N}.parquet.tmp");
                session.Replace(file, temp); // registered first: an uncommitted session deletes it
                await using var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true);
                await DatasetWriter.WriteParquetAsync(kept, stream, cancellationToken).ConfigureAwait(false);
                stream.Flush(flushToDisk: true);
            }
            finally
            {
                foreach (var batch in read) batch.Dispose();
            }
        }
    }

    /// <summary>Where an ingestion that must sort spills its sorted runs: next to the set's offline files.</summary>
    private string SortParent(string set) => SetRoot(set);

    /// <summary>Whether a chunk's times are non-decreasing and not before the previous chunk's last time (which it advances).</summary>
    private static bool InTimeOrder(RecordBatch batch, string timestampColumn, ref long lastTime)
    {
        var previous = lastTime;
        foreach (var t in ((TimestampArray)batch.Column(timestampColumn)).Values)
        {
            if (t < previous) return false;
            previous = t;
        }

        lastTime = previous;
        return true;
    }

    /// <summary>Offline rows read back as transformed rows: the source row number from the ingestion order, no order column.</summary>
    private static RecordBatch ReplayedRows(RecordBatch batch)
    {
        var order = (Int64Array)batch.Column(OfflineStore.OrderColumn);
        var rows = new long[batch.Length];
        for (var i = 0; i < rows.Length; i++) rows[i] = order.GetValue(i)!.Value & 0xFFFF_FFFFL;
        var replayed = Arrays.WithColumn(batch, FeatureStepContext.RowNumberColumn, Arrays.Int64s(rows, Enumerable.Repeat(true, rows.Length).ToArray()));
        return Arrays.SelectColumns(replayed, n => n != OfflineStore.OrderColumn);
    }

    /// <summary>
    /// Runs the graph on the first rows of a source without writing anything, with the stored fitted values when the set
    /// is stored (else fitted on the sample). Window aggregations start from the stored window state.
    /// </summary>
    /// <param name="set">The feature set.</param>
    /// <param name="source">The source.</param>
    /// <param name="rows">How many source rows to read (default 100).</param>
    /// <param name="cancellationToken">Cancels the preview.</param>
    /// <returns>The preview.</returns>
    public async Task<FeaturePreview> PreviewAsync(FeatureSet set, DataSource source, int rows = 100, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(set);
        ArgumentNullException.ThrowIfNull(source);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rows);
        var stored = await FindAsync(set.Name, "latest", cancellationToken, withSteps: false).ConfigureAwait(false);
        var fitted = new Dictionary<string, string>(stored?.Fitted ?? set.Fitted, StringComparer.Ordinal);
        var context = new FeatureStepContext(set.Name, isRealTime: false, Project.TimeProvider, _logger, fitted, canFit: true);
        var table = StateTable(set, stored?.Schema);
        var computer = new FeatureComputer(set, context, stored is not null && set.Aggregations.Count > 0 ? OnlineStore : null, table, 0);
        await foreach (var raw in source.ReadAsync(rows, TypeHints(set, stored?.Schema), TextColumns(set), cancellationToken).ConfigureAwait(false))
        {
            // the preview's rows share the source batch's memory, so the batch is left to the garbage collector
            {
                var sample = raw.Length > rows ? raw.Slice(0, rows) : raw;
                var output = await computer.ComputeAsync(sample, 0, source.Description, source.Zone, cancellationToken).ConfigureAwait(false);
                output = Arrays.SelectColumns(output, n => n != FeatureStepContext.RowNumberColumn);
                return new FeaturePreview(output, sample.Length, context.Dropped.ToArray(), context.Warnings.ToArray(), DatasetProfiler.Profile([output], "preview"));
            }
        }

        throw new ValidationException($"The source ({source.Description}) has no batch to preview.");
    }

    /// <summary>
    /// The real-time path: runs the graph on a few events (with the stored fitted values and window state, so the values
    /// equal what a batch ingestion would compute) and upserts them online together with the new window state; the rows
    /// are buffered for the offline target (see <see cref="FlushPushesAsync"/>).
    /// </summary>
    /// <param name="set">The feature set; it must have been ingested (or saved with a schema) before.</param>
    /// <param name="rows">The events, as column → value maps.</param>
    /// <param name="cancellationToken">Cancels the push.</param>
    /// <returns>The computed rows.</returns>
    public Task<PushResult> PushAsync(FeatureSet set, IEnumerable<IReadOnlyDictionary<string, object?>> rows, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(rows);
        return PushAsync(set, new DictionarySource(rows, "pushed events"), cancellationToken);
    }

    /// <summary>The real-time path for typed events (see <see cref="PushAsync(FeatureSet, IEnumerable{IReadOnlyDictionary{string, object}}, CancellationToken)"/>).</summary>
    /// <typeparam name="T">The event type.</typeparam>
    /// <param name="set">The feature set.</param>
    /// <param name="events">The events.</param>
    /// <param name="cancellationToken">Cancels the push.</param>
    /// <returns>The computed rows.</returns>
    public Task<PushResult> PushAsync<T>(FeatureSet set, IEnumerable<T> events, CancellationToken cancellationToken = default)
        => PushAsync(set, DataSource.Objects(events), cancellationToken); // dictionaries (a List<Dictionary<,>> binds here) are read as maps

    private async Task<PushResult> PushAsync(FeatureSet set, DataSource source, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(set);
        var gate = LockOf(set.Name);
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var stored = await FindAsync(set.Name, "latest", cancellationToken).ConfigureAwait(false);
            if (stored?.Schema is null)
                throw new InvalidStateException($"Feature set '{set.Name}' has no stored schema yet. Ingest a batch first (IngestAsync), then push real-time events.");
            var context = new FeatureStepContext(set.Name, isRealTime: true, Project.TimeProvider, _logger, new Dictionary<string, string>(stored.Fitted, StringComparer.Ordinal), canFit: false);
            var table = OnlineTableOf(stored);
            var computer = new FeatureComputer(stored, context, stored.Aggregations.Count > 0 ? OnlineStore : null, table, 0);
            var outputs = new List<RecordBatch>();
            var staging = new OnlineStaging(OnlineColumns(table));
            long first = 0;
            await foreach (var raw in source.ReadAsync(IngestOptions.DefaultChunkSize, TypeHints(stored, stored.Schema), TextColumns(stored), cancellationToken).ConfigureAwait(false))
            {
                // the result rows share the pushed batch's memory, so it is left to the garbage collector
                {
                    var output = await computer.ComputeAsync(raw, first, "push", source.Zone, cancellationToken).ConfigureAwait(false);
                    first += raw.Length;
                    FeatureSetSpec.Merge(set.Name, stored.Schema, OutputColumns(output));
                    outputs.Add(OfflineStore.Conform(output, stored.Schema));
                    StageOnline(stored, computer, staging, output);
                }
            }

            // the rows and the window state in one transaction, then the rows into the offline buffer
            await OnlineStore.WriteAsync(table, staging.ToBatch(), computer.WindowState(), cancellationToken).ConfigureAwait(false);
            var rows = outputs.Count == 1 ? outputs[0] : Concat(stored.Schema, outputs);
            await BufferPushedAsync(stored, rows, cancellationToken).ConfigureAwait(false);
            return new PushResult(rows, context.Dropped.ToArray());
        }
        finally
        {
            gate.Release();
        }
    }

    private static RecordBatch Concat(IReadOnlyList<FeatureColumn> schema, List<RecordBatch> batches)
    {
        var total = batches.Sum(b => b.Length);
        var indices = Enumerable.Range(0, total).ToArray();
        var arrays = schema.Select((c, i) => Retrieval.ArrowTake.Take(batches.Select(b => b.Column(i)).ToArray(), indices)).ToArray();
        return new RecordBatch(new Schema(schema.Select(c => Arrays.Field(c.Name, c.Type)), null), arrays, total);
    }
}
