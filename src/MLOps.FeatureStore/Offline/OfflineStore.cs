using System.Globalization;
using System.Runtime.CompilerServices;
using MLOps.Artifacts;
using MLOps.FeatureStore.FeatureSets;
using MLOps.FeatureStore.Internal;

namespace MLOps.FeatureStore.Offline;

/// <summary>
/// The Parquet offline target: <c>&lt;artifact root&gt;/feature-sets/&lt;project&gt;/&lt;set&gt;/</c>, partitioned by
/// event time in Hive-style folders (<c>year=2001/month=01/day=31</c>), one file per ingestion and partition named
/// <c>part-&lt;ingestion number&gt;-&lt;n&gt;.parquet</c>. Files are written under a temporary name and renamed when the
/// ingestion commits, so a cancelled or killed ingestion leaves no partial file; a retried ingestion (same ingestion id,
/// same number) replaces its earlier files.
/// </summary>
internal static class OfflineStore
{
    /// <summary>The column with the ingestion order (ingestion number × 2^32 + row), used to break timestamp ties.</summary>
    public const string OrderColumn = "_ingest_order";

    /// <summary>Whether a committed file holds flushed real-time pushes (<c>part-&lt;number&gt;-p&lt;n&gt;.parquet</c>).</summary>
    public static bool IsPushFile(string path)
    {
        var name = Path.GetFileName(path);
        return name.Length > 17 && name.StartsWith("part-", StringComparison.Ordinal) && name[15] == '-' && name[16] == 'p';
    }

    public static string Root(string artifactRoot, string project, string set) => Path.Combine(artifactRoot, "feature-sets", project, set);

    public static string PartitionPath(PartitionGranularity granularity, long micros)
    {
        if (granularity == PartitionGranularity.None) return "";
        var d = Timestamps.ToDateTimeOffset(micros);
        return granularity switch
        {
            PartitionGranularity.Month => string.Create(CultureInfo.InvariantCulture, $"year={d.Year:D4}/month={d.Month:D2}"),
            PartitionGranularity.Day => string.Create(CultureInfo.InvariantCulture, $"year={d.Year:D4}/month={d.Month:D2}/day={d.Day:D2}"),
            _ => string.Create(CultureInfo.InvariantCulture, $"year={d.Year:D4}/month={d.Month:D2}/day={d.Day:D2}/hour={d.Hour:D2}"),
        };
    }

    /// <summary>The time range [start, end) of a partition folder relative to the root, or null when it is not a partition path.</summary>
    private static (long Start, long End)? PartitionRange(string relativeDirectory)
    {
        int year = 0, month = 0, day = 0, hour = -1;
        foreach (var part in relativeDirectory.Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = part.IndexOf('=', StringComparison.Ordinal);
            if (eq < 0 || !int.TryParse(part.AsSpan(eq + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var v)) return null;
            switch (part[..eq])
            {
                case "year": year = v; break;
                case "month": month = v; break;
                case "day": day = v; break;
                case "hour": hour = v; break;
                default: return null;
            }
        }

        if (year == 0) return null;
        var start = new DateTimeOffset(year, Math.Max(month, 1), Math.Max(day, 1), Math.Max(hour, 0), 0, 0, TimeSpan.Zero);
        var end = month == 0 ? start.AddYears(1) : day == 0 ? start.AddMonths(1) : hour < 0 ? start.AddDays(1) : start.AddHours(1);
        return (Timestamps.FromDateTimeOffset(start), Timestamps.FromDateTimeOffset(end));
    }

    /// <summary>The committed files of a set, optionally only the partitions that can hold times in [from, to].</summary>
    public static IReadOnlyList<string> Files(string root, long? from = null, long? to = null)
    {
        if (!Directory.Exists(root)) return [];
        var files = new List<string>();
        foreach (var file in Directory.EnumerateFiles(root, "part-*.parquet", SearchOption.AllDirectories))
        {
            var dir = Path.GetRelativePath(root, Path.GetDirectoryName(file)!);
            if (dir != "." && PartitionRange(dir) is { } range && ((from is { } f && range.End <= f) || (to is { } t && range.Start > t)))
                continue;
            files.Add(file);
        }

        files.Sort(StringComparer.Ordinal);
        return files;
    }

    /// <summary>
    /// Reads the committed rows of a set as batches with exactly the requested columns (missing ones null), in file
    /// order. Only the requested columns are decoded, and several files are read at once (up to one per processor):
    /// a set is usually many small partition files.
    /// </summary>
    public static async IAsyncEnumerable<RecordBatch> ReadAsync(string root, IReadOnlyList<FeatureColumn> columns, long? from, long? to, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var names = columns.Select(c => c.Name).ToHashSet(StringComparer.Ordinal);
        var files = Files(root, from, to);
        var window = Math.Clamp(Environment.ProcessorCount, 1, 8);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var pending = new Queue<Task<List<RecordBatch>>>();
        List<RecordBatch>? current = null;
        var next = 0;
        try
        {
            while (next < files.Count || pending.Count > 0)
            {
                while (next < files.Count && pending.Count < window)
                {
                    var file = files[next++];
                    pending.Enqueue(Task.Run(() => ReadFileAsync(file, names, columns, stop.Token), stop.Token));
                }

                current = await pending.Peek().ConfigureAwait(false);
                _ = pending.Dequeue();
                for (var b = 0; b < current.Count; b++)
                {
                    var batch = current[b];
                    current[b] = null!; // from here on the caller owns it
                    yield return batch;
                }
            }
        }
        finally
        {
            // the caller stopped early or a read failed: the reads still running are stopped and their batches dropped
            await stop.CancelAsync().ConfigureAwait(false);
            foreach (var batch in current ?? []) batch?.Dispose();
            foreach (var task in pending)
            {
                try
                {
                    foreach (var batch in await task.ConfigureAwait(false)) batch?.Dispose();
                }
                catch (Exception)
                {
                    // cancelled, or the failure already on its way to the caller (or one after it, which nobody waits for)
                }
            }
        }
    }

    /// <summary>Reads one file's non-empty batches, conformed to the columns.</summary>
    private static async Task<List<RecordBatch>> ReadFileAsync(string file, IReadOnlyCollection<string> names, IReadOnlyList<FeatureColumn> columns, CancellationToken cancellationToken)
    {
        var batches = new List<RecordBatch>();
        try
        {
            await foreach (var batch in DatasetReader.ReadParquetAsync(file, new ParquetReadOptions { Columns = names }, cancellationToken).ConfigureAwait(false))
            {
                if (batch.Length == 0)
                {
                    batch.Dispose();
                    continue;
                }

                batches.Add(Conform(batch, columns));
            }
        }
        catch
        {
            foreach (var batch in batches) batch.Dispose();
            throw;
        }

        return batches;
    }

    /// <summary>A batch with exactly these columns and types, in order (missing ones all null).</summary>
    public static RecordBatch Conform(RecordBatch batch, IReadOnlyList<FeatureColumn> columns)
    {
        var fields = new Field[columns.Count];
        var arrays = new IArrowArray[columns.Count];
        for (var i = 0; i < columns.Count; i++)
        {
            var c = columns[i];
            var index = batch.Schema.GetFieldIndex(c.Name);
            var array = index >= 0 ? batch.Column(index) : Arrays.Nulls(c.Type, batch.Length);
            if (Arrays.FeatureTypeOf(array.Data.DataType) != c.Type || (c.Type == FeatureType.Timestamp && array.Data.DataType is Apache.Arrow.Types.TimestampType { Unit: not Apache.Arrow.Types.TimeUnit.Microsecond }))
                array = Recast(array, c.Type);
            fields[i] = Arrays.Field(c.Name, c.Type);
            arrays[i] = array;
        }

        return new RecordBatch(new Schema(fields, null), arrays, batch.Length);
    }

    private static IArrowArray Recast(IArrowArray array, FeatureType type)
    {
        var n = array.Length;
        var valid = new bool[n];
        switch (type)
        {
            case FeatureType.Double:
                return Arrays.Doubles(Arrays.ToDoubles(array), n);
            case FeatureType.Timestamp when array is TimestampArray t:
                return Arrays.ToMicroseconds(t);

            case FeatureType.Int64 or FeatureType.Timestamp:
            {
                var d = Arrays.ToDoubles(array);
                var v = new long[n];
                for (var i = 0; i < n; i++)
                {
                    valid[i] = !double.IsNaN(d[i]);
                    v[i] = valid[i] ? (long)d[i] : 0;
                }

                return type == FeatureType.Int64 ? Arrays.Int64s(v, valid) : Arrays.Timestamps(v, valid);
            }

            default:
                return Arrays.Nulls(type, n);
        }
    }
}

/// <summary>One ingestion's offline writes: a Parquet writer per partition, committed by renaming.</summary>
internal sealed class OfflineWriteSession : IAsyncDisposable
{
    private readonly string _root;
    private readonly PartitionGranularity _granularity;
    private readonly string? _timestampColumn;
    private readonly long _sequence;
    private readonly string _fileTag;

    /// <summary>The tag of the files of flushed real-time pushes: <c>part-&lt;number&gt;-p&lt;n&gt;.parquet</c>.</summary>
    public const string PushFileTag = "p";

    /// <summary>At most this many partition files are open at once; the least recently written one is closed (and a later
    /// write to its partition starts that partition's next file), so a source spanning years never runs out of file handles.</summary>
    internal const int MaxOpenFiles = 64;

    private readonly Dictionary<string, OpenFile> _open = new(StringComparer.Ordinal);
    private readonly List<(string Temp, string Final)> _closed = [];
    private readonly Dictionary<string, int> _nextFile = new(StringComparer.Ordinal);
    private readonly List<(string? Temp, string Final)> _replacements = [];
    private readonly List<(string Backup, string Final)> _backups = [];
    private readonly List<string> _finals = [];
    // the fsync of every closed file, run on the thread pool (waiting on the disk) while the session writes on
    private readonly List<Task> _syncs = [];
    private long _writes;
    private bool _committed;

    private sealed record OpenFile(string Temp, string Final, FileStream Stream, ParquetBatchWriter Writer)
    {
        public long LastWrite { get; set; }
    }

    /// <param name="root">The set's folder.</param>
    /// <param name="granularity">The partitioning.</param>
    /// <param name="timestampColumn">The event-time column, or null for a static set (no partitions).</param>
    /// <param name="sequence">The ingestion number (the files' prefix).</param>
    /// <param name="fileTag">Put before the file number: <see cref="PushFileTag"/> for flushed pushes, empty for ingestions.</param>
    public OfflineWriteSession(string root, PartitionGranularity granularity, string? timestampColumn, long sequence, string fileTag = "")
    {
        _fileTag = fileTag;
        _root = root;
        _granularity = timestampColumn is null ? PartitionGranularity.None : granularity;
        _timestampColumn = timestampColumn;
        _sequence = sequence;
        Directory.CreateDirectory(root);
        foreach (var stale in Directory.EnumerateFiles(root, "*.parquet.tmp", SearchOption.AllDirectories)
                     .Concat(Directory.EnumerateFiles(root, ".part-*.bak", SearchOption.AllDirectories)))
            if (File.GetLastWriteTimeUtc(stale) < DateTime.UtcNow.AddHours(-1))
                TryDelete(stale); // left by a killed ingestion (a live ingestion writes its files all the time; a .bak is a file replaced by a commit)
    }

    public long RowsWritten { get; private set; }

    /// <summary>The set's folder.</summary>
    public string Root => _root;

    public int Files => _open.Count + _closed.Count;

    private string Prefix => string.Create(CultureInfo.InvariantCulture, $"part-{_sequence:D10}-");

    /// <summary>Writes a batch (every batch of a session has the same schema), split by partition.</summary>
    public async Task WriteAsync(RecordBatch batch, CancellationToken cancellationToken)
    {
        if (batch.Length == 0) return;
        if (_granularity == PartitionGranularity.None)
        {
            await WritePartitionAsync("", batch, cancellationToken).ConfigureAwait(false);
            return;
        }

        var ts = (TimestampArray)batch.Column(_timestampColumn!);
        var groups = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        string? lastKey = null;
        List<int>? last = null;
        long lastStart = long.MinValue, lastEnd = long.MinValue;
        for (var i = 0; i < batch.Length; i++)
        {
            var t = ts.Values[i];
            if (last is null || t < lastStart || t >= lastEnd)
            {
                lastKey = OfflineStore.PartitionPath(_granularity, t);
                (lastStart, lastEnd) = Bounds(t);
                if (!groups.TryGetValue(lastKey, out last)) groups[lastKey] = last = [];
            }

            last.Add(i);
        }

        foreach (var (key, rows) in groups)
        {
            var contiguous = rows[^1] - rows[0] + 1 == rows.Count; // time-ordered sources give one range per partition
            var part = rows.Count == batch.Length ? batch : contiguous ? batch.Slice(rows[0], rows.Count) : Arrays.TakeRows(batch, rows.ToArray());
            await WritePartitionAsync(key, part, cancellationToken).ConfigureAwait(false);
        }
    }

    private (long Start, long End) Bounds(long micros)
    {
        var d = Timestamps.ToDateTimeOffset(micros);
        var start = _granularity switch
        {
            PartitionGranularity.Month => new DateTimeOffset(d.Year, d.Month, 1, 0, 0, 0, TimeSpan.Zero),
            PartitionGranularity.Day => new DateTimeOffset(d.Year, d.Month, d.Day, 0, 0, 0, TimeSpan.Zero),
            _ => new DateTimeOffset(d.Year, d.Month, d.Day, d.Hour, 0, 0, TimeSpan.Zero),
        };
        var end = _granularity switch
        {
            PartitionGranularity.Month => start.AddMonths(1),
            PartitionGranularity.Day => start.AddDays(1),
            _ => start.AddHours(1),
        };
        return (Timestamps.FromDateTimeOffset(start), Timestamps.FromDateTimeOffset(end));
    }

    private async Task WritePartitionAsync(string partition, RecordBatch batch, CancellationToken cancellationToken)
    {
        try
        {
            await WritePartitionCoreAsync(partition, batch, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new FeatureStoreException($"Writing the offline Parquet files under '{_root}' failed: {e.Message} Check the disk space and the folder's permissions; the ingestion left no partial file.", e);
        }
    }

    private async Task WritePartitionCoreAsync(string partition, RecordBatch batch, CancellationToken cancellationToken)
    {
        if (!_open.TryGetValue(partition, out var w))
        {
            if (_open.Count >= MaxOpenFiles)
            {
                var (oldest, file) = _open.MinBy(kv => kv.Value.LastWrite);
                await CloseAsync(file, _syncs, cancellationToken).ConfigureAwait(false);
                _closed.Add((file.Temp, file.Final));
                _open.Remove(oldest);
            }

            var dir = partition.Length == 0 ? _root : Path.Combine(_root, partition.Replace('/', Path.DirectorySeparatorChar));
            Directory.CreateDirectory(dir);
            var n = _nextFile.GetValueOrDefault(partition);
            _nextFile[partition] = n + 1;
            var final = Path.Combine(dir, string.Create(CultureInfo.InvariantCulture, $"{Prefix}{_fileTag}{n}.parquet"));
            var temp = Path.Combine(dir, $".{Prefix}{Guid.NewGuid():N}.parquet.tmp");
            var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true);
            var writer = await ParquetBatchWriter.CreateAsync(batch.Schema, stream, cancellationToken).ConfigureAwait(false);
            _open[partition] = w = new OpenFile(temp, final, stream, writer);
        }

        w.LastWrite = ++_writes;
        await w.Writer.WriteAsync(batch, cancellationToken).ConfigureAwait(false);
        RowsWritten += batch.Length;
    }

    /// <summary>Finishes a file; its fsync (and closing) is added to <paramref name="syncs"/>, see <see cref="CloseFilesAsync"/>.</summary>
    private static async Task CloseAsync(OpenFile w, List<Task> syncs, CancellationToken cancellationToken)
    {
        await w.Writer.DisposeAsync().ConfigureAwait(false);
        await w.Stream.FlushAsync(cancellationToken).ConfigureAwait(false);
        syncs.Add(Task.Run(() =>
        {
            using (w.Stream) w.Stream.Flush(flushToDisk: true);
        }, CancellationToken.None));
    }

    /// <summary>Waits for the fsync of every closed file; a failure is thrown as a <see cref="FeatureStoreException"/>.</summary>
    private async Task SyncClosedAsync()
    {
        try
        {
            await Task.WhenAll(_syncs).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new FeatureStoreException($"Writing the offline Parquet files under '{_root}' failed: {e.Message} Check the disk space and the folder's permissions; the ingestion left no partial file.", e);
        }
        finally
        {
            _syncs.RemoveAll(t => t.IsCompletedSuccessfully);
        }
    }

    /// <summary>
    /// Closes every open file and returns the temporary files written so far, for reading them back (an ingestion that
    /// restarts in time order replays them). They stay the session's: they are deleted when it is disposed uncommitted.
    /// Every file is on disk (fsynced) when this returns: the files closed earlier were fsynced in the background.
    /// </summary>
    public async Task<IReadOnlyList<string>> CloseFilesAsync(CancellationToken cancellationToken)
    {
        foreach (var w in _open.Values)
        {
            await CloseAsync(w, _syncs, cancellationToken).ConfigureAwait(false);
            _closed.Add((w.Temp, w.Final));
        }

        _open.Clear();
        await SyncClosedAsync().ConfigureAwait(false);
        return _closed.Select(c => c.Temp).ToArray();
    }

    /// <summary>
    /// Replaces a committed file of the set when this session commits: with the content of <paramref name="temp"/> (a
    /// file written next to it), or deletes it when <paramref name="temp"/> is null. Undone by <see cref="UndoCommit"/>.
    /// </summary>
    public void Replace(string final, string? temp) => _replacements.Add((temp, final));

    /// <summary>
    /// Closes every file and renames the new ones into place, moving aside the files of an earlier attempt of the same
    /// ingestion and the replaced files (see <see cref="Replace"/>). Until <see cref="CompleteCommit"/>,
    /// <see cref="UndoCommit"/> puts everything back as it was.
    /// </summary>
    public async Task<IReadOnlyList<string>> CommitAsync(CancellationToken cancellationToken)
    {
        await CloseFilesAsync(cancellationToken).ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            var replaced = Directory.EnumerateFiles(_root, Prefix + "*.parquet", SearchOption.AllDirectories).Select(f => ((string?)null, f)).ToList();
            replaced.AddRange(_replacements);
            foreach (var (temp, final) in replaced)
            {
                if (File.Exists(final))
                {
                    var backup = Path.Combine(Path.GetDirectoryName(final)!, $".{Path.GetFileName(final)}.{Guid.NewGuid():N}.bak");
                    File.Move(final, backup);
                    _backups.Add((backup, final));
                }

                if (temp is not null)
                {
                    File.Move(temp, final);
                    _finals.Add(final);
                }
            }

            foreach (var (temp, final) in _closed)
            {
                File.Move(temp, final, overwrite: true);
                _finals.Add(final);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            UndoCommit();
            throw new FeatureStoreException($"Committing the offline Parquet files under '{_root}' failed: {e.Message} The files were put back as they were.", e);
        }

        _committed = true;
        _closed.Clear();
        return _finals.Where(f => Path.GetFileName(f).StartsWith(Prefix, StringComparison.Ordinal)).ToArray();
    }

    /// <summary>Deletes the files moved aside by <see cref="CommitAsync"/>: the commit is final.</summary>
    public void CompleteCommit()
    {
        foreach (var (backup, _) in _backups) TryDelete(backup);
        _backups.Clear();
        _finals.Clear();
    }

    /// <summary>Deletes the files renamed into place by <see cref="CommitAsync"/> and restores the ones it moved aside.</summary>
    public void UndoCommit()
    {
        foreach (var final in _finals) TryDelete(final);
        foreach (var (backup, final) in _backups) File.Move(backup, final, overwrite: true);
        _finals.Clear();
        _backups.Clear();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var (temp, _) in _replacements)
            if (temp is not null && File.Exists(temp)) TryDelete(temp);
        _replacements.Clear();
        if (_committed)
        {
            CompleteCommit();
            return;
        }

        foreach (var w in _open.Values)
        {
            try
            {
                await w.Writer.DisposeAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or InvalidOperationException or Parquet.ParquetException)
            {
                // the file is deleted below anyway
            }

            await w.Stream.DisposeAsync().ConfigureAwait(false);
            TryDelete(w.Temp);
        }

        try
        {
            await Task.WhenAll(_syncs).ConfigureAwait(false); // the closed files' handles, before they are deleted
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // the files are deleted below anyway
        }

        _syncs.Clear();

        foreach (var (temp, _) in _closed)
            TryDelete(temp);
        _open.Clear();
        _closed.Clear();
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // another process may hold it; it is removed by the next ingestion
        }
    }
}
