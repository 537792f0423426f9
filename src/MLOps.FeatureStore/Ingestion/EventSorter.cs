using System.Runtime.CompilerServices;
using Apache.Arrow.Ipc;
using MLOps.FeatureStore.Internal;
using MLOps.FeatureStore.Offline;
using MLOps.FeatureStore.Retrieval;
using MLOps.FeatureStore.Transformations;

namespace MLOps.FeatureStore.Ingestion;

/// <summary>
/// Sorts transformed rows by (event time, source row) for an ingestion whose source is not in time order: each added
/// batch is sorted (and copied) into memory; when the held batches exceed the memory budget they are merged into one
/// sorted run in a temporary Arrow IPC file; <see cref="ReadSortedAsync"/> k-way merges the batches in memory and the
/// runs on disk. The temporary folder is deleted on dispose.
/// </summary>
internal sealed class EventSorter : IAsyncDisposable
{
    private const int RunBatchRows = 65_536;

    private readonly string _timestampColumn;
    private readonly long _budget;
    private readonly string _spillFolder;
    private readonly List<RecordBatch> _memory = [];
    private readonly List<string> _runs = [];
    private Schema? _schema;
    private FeatureColumn[]? _columns;
    private long _memoryBytes;

    /// <param name="timestampColumn">The event-time column (timestamp[us, UTC], no nulls).</param>
    /// <param name="memoryBudget">The bytes of Arrow buffers held in memory before a run is spilled.</param>
    /// <param name="spillParent">The folder under which a temporary folder for the runs is created (when needed).</param>
    public EventSorter(string timestampColumn, long memoryBudget, string spillParent)
    {
        _timestampColumn = timestampColumn;
        _budget = memoryBudget;
        _spillFolder = Path.Combine(spillParent, $".sort-{Guid.NewGuid():N}");
    }

    /// <summary>The rows added.</summary>
    public long Rows { get; private set; }

    /// <summary>The runs spilled to disk so far.</summary>
    public int SpilledRuns => _runs.Count;

    /// <summary>Adds a batch of transformed rows (with the row-number column); the batch is copied, so the caller may dispose it.</summary>
    public async Task AddAsync(RecordBatch batch, CancellationToken cancellationToken)
    {
        if (batch.Length == 0) return;
        if (_schema is null)
        {
            _schema = batch.Schema;
            _columns = batch.Schema.FieldsList.Select(f => new FeatureColumn(f.Name, Arrays.FeatureTypeOf(f.DataType) ?? FeatureType.String)).ToArray();
        }
        else if (!SameSchema(batch.Schema))
        {
            var extra = batch.Schema.FieldsList.Select(f => f.Name).Where(n => _schema.GetFieldIndex(n) < 0).ToArray();
            if (extra.Length > 0)
                throw new ValidationException($"Column(s) {string.Join(", ", extra.Select(n => $"'{n}'"))} first appear after row {Rows} of the source, after the schema was fixed by the first chunk. Declare them with .Feature(name, type) so every chunk has them.");
            batch = new RecordBatch(_schema, OfflineStore.Conform(batch, _columns!).Arrays, batch.Length);
        }

        var sorted = Arrays.TakeRows(batch, SortedOrder(batch));
        _memory.Add(sorted);
        Rows += sorted.Length;
        _memoryBytes += Bytes(sorted);
        if (_memoryBytes > _budget) await SpillAsync(cancellationToken).ConfigureAwait(false);
    }

    private bool SameSchema(Schema other)
        => other.FieldsList.Count == _schema!.FieldsList.Count
           && other.FieldsList.Zip(_schema.FieldsList).All(p => p.First.Name == p.Second.Name && p.First.DataType.TypeId == p.Second.DataType.TypeId);

    private int[] SortedOrder(RecordBatch batch)
    {
        var ts = ((TimestampArray)batch.Column(_timestampColumn)).Values;
        var rows = ((Int64Array)batch.Column(FeatureStepContext.RowNumberColumn)).Values;
        var keys = new (long Ts, long Row)[batch.Length];
        var order = new int[batch.Length];
        for (var i = 0; i < keys.Length; i++)
        {
            keys[i] = (ts[i], rows[i]);
            order[i] = i;
        }

        Array.Sort(keys, order); // the keys are unique (row numbers are), so an unstable sort is deterministic
        return order;
    }

    private static long Bytes(RecordBatch batch)
    {
        long bytes = 0;
        foreach (var array in batch.Arrays)
            foreach (var buffer in array.Data.Buffers)
                bytes += buffer.Length;
        return bytes;
    }

    private async Task SpillAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(_spillFolder);
        var path = Path.Combine(_spillFolder, $"run-{_runs.Count}.arrow");
        _runs.Add(path);
        await using (var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true))
        {
            using var writer = new ArrowFileWriter(stream, _schema!, leaveOpen: true);
            await writer.WriteStartAsync(cancellationToken).ConfigureAwait(false);
            await foreach (var batch in MergeAsync(_memory.Select(b => (Cursor)new MemoryCursor(b, _timestampColumn)).ToList(), RunBatchRows, cancellationToken).ConfigureAwait(false))
                await writer.WriteRecordBatchAsync(batch, cancellationToken).ConfigureAwait(false);
            await writer.WriteEndAsync(cancellationToken).ConfigureAwait(false);
        }

        _memory.Clear();
        _memoryBytes = 0;
    }

    /// <summary>Every added row in (event time, source row) order, in batches of at most <paramref name="batchRows"/> rows.</summary>
    public IAsyncEnumerable<RecordBatch> ReadSortedAsync(int batchRows, CancellationToken cancellationToken)
    {
        var cursors = new List<Cursor>();
        foreach (var run in _runs) cursors.Add(new FileCursor(run, _timestampColumn));
        foreach (var batch in _memory) cursors.Add(new MemoryCursor(batch, _timestampColumn));
        return MergeAsync(cursors, batchRows, cancellationToken);
    }

    private async IAsyncEnumerable<RecordBatch> MergeAsync(List<Cursor> cursors, int batchRows, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var queue = new PriorityQueue<Cursor, (long Ts, long Row)>();
        var retired = new List<RecordBatch>();
        try
        {
            foreach (var c in cursors)
                if (await c.StartAsync(retired, cancellationToken).ConfigureAwait(false)) queue.Enqueue(c, c.Key);
            var involved = new List<RecordBatch>();
            var offsets = new Dictionary<RecordBatch, int>(ReferenceEqualityComparer.Instance);
            var indices = new List<int>(batchRows);
            while (queue.Count > 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
                involved.Clear();
                offsets.Clear();
                indices.Clear();
                var total = 0;
                while (indices.Count < batchRows && queue.TryDequeue(out var c, out _))
                {
                    bool more;
                    // take from one cursor while it holds the smallest key (long runs of one sorted input cost no queue work)
                    do
                    {
                        if (!offsets.TryGetValue(c.Batch, out var offset))
                        {
                            offset = total;
                            offsets[c.Batch] = offset;
                            involved.Add(c.Batch);
                            total += c.Batch.Length;
                        }

                        indices.Add(offset + c.Position);
                        more = await c.MoveNextAsync(retired, cancellationToken).ConfigureAwait(false);
                    }
                    while (more && indices.Count < batchRows && (queue.Count == 0 || Less(c.Key, PeekKey(queue))));

                    if (more) queue.Enqueue(c, c.Key);
                }

                var take = indices.ToArray();
                var arrays = new IArrowArray[_schema!.FieldsList.Count];
                for (var col = 0; col < arrays.Length; col++)
                    arrays[col] = ArrowTake.Take(involved.Select(b => b.Column(col)).ToArray(), take);
                var output = new RecordBatch(_schema, arrays, take.Length);
                foreach (var b in retired) b.Dispose();
                retired.Clear();
                yield return output;
            }
        }
        finally
        {
            foreach (var b in retired) b.Dispose();
            foreach (var c in cursors) c.Dispose();
        }
    }

    private static (long, long) PeekKey(PriorityQueue<Cursor, (long Ts, long Row)> queue)
    {
        queue.TryPeek(out _, out var key);
        return key;
    }

    private static bool Less((long Ts, long Row) a, (long Ts, long Row) b) => a.Ts < b.Ts || (a.Ts == b.Ts && a.Row < b.Row);

    public ValueTask DisposeAsync()
    {
        _memory.Clear();
        _runs.Clear();
        try
        {
            if (Directory.Exists(_spillFolder)) Directory.Delete(_spillFolder, recursive: true);
        }
        catch (IOException)
        {
            // a reader may still hold a file on some systems; the next ingestion of the set removes stale folders
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>Deletes sort folders left under a folder by a killed process (older than an hour).</summary>
    public static void DeleteStale(string parent)
    {
        if (!Directory.Exists(parent)) return;
        foreach (var stale in Directory.EnumerateDirectories(parent, ".sort-*"))
        {
            try
            {
                if (Directory.GetLastWriteTimeUtc(stale) < DateTime.UtcNow.AddHours(-1)) Directory.Delete(stale, recursive: true);
            }
            catch (IOException)
            {
                // in use
            }
        }
    }

    /// <summary>A position in one sorted input.</summary>
    private abstract class Cursor(string timestampColumn) : IDisposable
    {
        private long[] _ts = [];
        private long[] _rows = [];

        public RecordBatch Batch { get; private set; } = null!;

        public int Position { get; private set; }

        public (long Ts, long Row) Key => (_ts[Position], _rows[Position]);

        public async Task<bool> StartAsync(List<RecordBatch> retired, CancellationToken cancellationToken)
        {
            var next = await NextBatchAsync(cancellationToken).ConfigureAwait(false);
            if (next is null) return false;
            Load(next);
            return true;
        }

        public async ValueTask<bool> MoveNextAsync(List<RecordBatch> retired, CancellationToken cancellationToken)
        {
            if (++Position < Batch.Length) return true;
            if (OwnsBatches) retired.Add(Batch); // still referenced by the output being built: disposed after it
            var next = await NextBatchAsync(cancellationToken).ConfigureAwait(false);
            if (next is null) return false;
            Load(next);
            return true;
        }

        private void Load(RecordBatch batch)
        {
            Batch = batch;
            Position = 0;
            _ts = ((TimestampArray)batch.Column(timestampColumn)).Values.ToArray();
            _rows = ((Int64Array)batch.Column(FeatureStepContext.RowNumberColumn)).Values.ToArray();
        }

        protected abstract bool OwnsBatches { get; }

        /// <summary>The next non-empty batch, or null at the end.</summary>
        protected abstract ValueTask<RecordBatch?> NextBatchAsync(CancellationToken cancellationToken);

        public abstract void Dispose();
    }

    private sealed class MemoryCursor(RecordBatch batch, string timestampColumn) : Cursor(timestampColumn)
    {
        private bool _done;

        protected override bool OwnsBatches => false;

        protected override ValueTask<RecordBatch?> NextBatchAsync(CancellationToken cancellationToken)
        {
            if (_done || batch.Length == 0) return ValueTask.FromResult<RecordBatch?>(null);
            _done = true;
            return ValueTask.FromResult<RecordBatch?>(batch);
        }

        public override void Dispose()
        {
        }
    }

    private sealed class FileCursor(string path, string timestampColumn) : Cursor(timestampColumn)
    {
        private FileStream? _stream;
        private ArrowFileReader? _reader;

        protected override bool OwnsBatches => true;

        protected override async ValueTask<RecordBatch?> NextBatchAsync(CancellationToken cancellationToken)
        {
            if (_reader is null)
            {
                _stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, useAsync: true);
                _reader = new ArrowFileReader(_stream, leaveOpen: true);
            }

            while (true)
            {
                var batch = await _reader.ReadNextRecordBatchAsync(cancellationToken).ConfigureAwait(false);
                if (batch is null || batch.Length > 0) return batch;
                batch.Dispose();
            }
        }

        public override void Dispose()
        {
            _reader?.Dispose();
            _stream?.Dispose();
        }
    }
}
