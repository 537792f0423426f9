using MLOps.Artifacts;
using MLOps.FeatureStore.FeatureSets;
using MLOps.FeatureStore.Internal;
using MLOps.FeatureStore.Offline;
using MLOps.FeatureStore.Transformations;

namespace MLOps.FeatureStore.Ingestion;

internal sealed partial class FeatureIngestion
{
    /// <summary>
    /// Commits the ingestion once everything is computed: the new version of the set (when it changed), then the offline
    /// files (renamed into place, the replaced ones moved aside), then the staged online rows and the window state in one
    /// online write (one transaction). When the online write fails, the offline commit is undone, so a failure leaves both
    /// targets as they were.
    /// </summary>
    /// <returns>The committed offline files.</returns>
    private async Task<IReadOnlyList<string>> CommitAsync()
    {
        if (_current is null)
        {
            if (_stored is null)
                throw new ValidationException($"The source ({_source.Description}) has no rows and feature set '{_set.Name}' has no stored schema, so nothing can be ingested. Ingest a non-empty source first.");
            _current = _stored;
            _table = _store.OnlineTableOf(_current);
        }
        else if (_current.Version is null)
        {
            _cancellationToken.ThrowIfCancellationRequested();
            _current = await _records.StoreAsync(_current.WithSchema(_current.Schema!, new Dictionary<string, string>(_fitted, StringComparer.Ordinal), null), _cancellationToken).ConfigureAwait(false);
        }

        _cancellationToken.ThrowIfCancellationRequested();
        // prepared even when this ingestion does not write online: pushes (the real-time path) always do
        var online = _store.OnlineStore;
        await online.PrepareAsync(_table!, _cancellationToken).ConfigureAwait(false);
        if (_batchKeys is { Count: > 0 } && _session is not null)
            await SupersedePushedRowsAsync(_session, _pushFiles, _batchKeys, _computer, _set.TimestampColumn!, _cancellationToken).ConfigureAwait(false);

        var windowState = _aggregated ? _computer.WindowState() : null;
        IReadOnlyList<string> files = _session is null ? [] : await _session.CommitAsync(_cancellationToken).ConfigureAwait(false);
        try
        {
            var rows = _staging?.ToBatch();
            if (rows is { Length: > 0 } || windowState is { Count: > 0 })
                await online.WriteAsync(_table!, rows ?? EmptyBatch(_table!), windowState ?? [], CancellationToken.None).ConfigureAwait(false); // past the point of cancelling
        }
        catch
        {
            _session?.UndoCommit();
            throw;
        }

        _session?.CompleteCommit();
        Committed = true;
        return files;
    }

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
}
