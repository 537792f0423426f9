using System.Buffers.Binary;
using MLOps.FeatureStore.Aggregations;
using MLOps.FeatureStore.FeatureSets;
using MLOps.FeatureStore.Internal;
using MLOps.FeatureStore.Online;
using MLOps.FeatureStore.Transformations;

namespace MLOps.FeatureStore.Ingestion;

/// <summary>
/// Runs a feature set's graph (normalization, steps, window aggregations) on batches. One instance serves one ingestion,
/// push or preview; the same code runs for all three so batch and real time agree.
/// </summary>
internal sealed class FeatureComputer
{
    private readonly FeatureSet _set;
    private readonly WindowAggregator? _aggregator;
    private readonly IOnlineStore? _stateStore;
    private readonly OnlineTable? _table;
    private readonly long _sequence;
    private readonly Dictionary<string, byte[]> _previousState = new(StringComparer.Ordinal);
    private readonly Dictionary<int, List<(byte[] Utf8, string Text)>> _keyPool = [];
    private RecordBatch? _held;

    public FeatureComputer(FeatureSet set, FeatureStepContext context, IOnlineStore? stateStore, OnlineTable? table, long sequence)
    {
        _set = set;
        Context = context;
        _stateStore = stateStore;
        _table = table;
        _sequence = sequence;
        if (set.Aggregations.Count > 0) _aggregator = new WindowAggregator(set.Aggregations);
    }

    public FeatureStepContext Context { get; }

    public long RowsDroppedByFilters { get; private set; }

    /// <summary>Rows that passed the steps so far (including rows held back for the next chunk's aggregation).</summary>
    public long RowsPassed { get; private set; }

    /// <summary>Normalizes, transforms and aggregates one source batch. The result keeps the row-number column.</summary>
    public async Task<RecordBatch> ComputeAsync(RecordBatch source, long firstRow, string sourceName, CancellationToken cancellationToken)
    {
        var batch = Transform(source, firstRow, sourceName);
        if (_aggregator is not null && batch.Length > 0)
            batch = await AggregateAsync(batch, cancellationToken).ConfigureAwait(false);
        return batch;
    }

    /// <summary>
    /// The ingestion path: like <see cref="ComputeAsync"/>, but the rows at the chunk's latest event time are held back and
    /// aggregated with the next chunk (or by <see cref="FlushAsync"/>), so that events of one entity at the same time are in
    /// each other's windows even when a chunk boundary falls between them. Returns zero, one or two batches.
    /// </summary>
    public async Task<IReadOnlyList<RecordBatch>> ComputeChunkAsync(RecordBatch source, long firstRow, string sourceName, CancellationToken cancellationToken)
    {
        var batch = Transform(source, firstRow, sourceName);
        if (_aggregator is null) return [batch];
        var outputs = new List<RecordBatch>(2);
        if (_held is not null)
        {
            // joined with this chunk only when it has rows at the held time (a tie across the boundary); else aggregated first
            var heldTime = ((TimestampArray)_held.Column(_set.TimestampColumn!)).Values[0];
            if (batch.Length > 0 && SameColumns(_held.Schema, batch.Schema) && ((TimestampArray)batch.Column(_set.TimestampColumn!)).Values.Contains(heldTime))
                batch = ConcatRows(_held, batch);
            else
                outputs.Add(await AggregateAsync(_held, cancellationToken).ConfigureAwait(false));
            _held = null;
        }

        if (batch.Length == 0) return outputs;
        var ts = ((TimestampArray)batch.Column(_set.TimestampColumn!)).Values;
        var last = long.MinValue;
        foreach (var t in ts) last = Math.Max(last, t);
        var ready = new List<int>(batch.Length);
        var held = new List<int>();
        for (var i = 0; i < ts.Length; i++)
            (ts[i] == last ? held : ready).Add(i);
        _held = Arrays.TakeRows(batch, held.ToArray()); // copied: the source batch may be disposed before the next chunk
        if (ready.Count > 0)
        {
            // a time-ordered chunk holds back a suffix: the rest is a slice, not a copy
            var rest = ready.Count == batch.Length ? batch
                : ready[^1] == ready.Count - 1 ? batch.Slice(0, ready.Count)
                : Arrays.TakeRows(batch, ready.ToArray());
            outputs.Add(await AggregateAsync(rest, cancellationToken).ConfigureAwait(false));
        }

        return outputs;
    }

    /// <summary>Aggregates the rows held back by <see cref="ComputeChunkAsync"/> at the end of the source.</summary>
    public async Task<RecordBatch?> FlushAsync(CancellationToken cancellationToken)
    {
        if (_held is null) return null;
        var held = _held;
        _held = null;
        return await AggregateAsync(held, cancellationToken).ConfigureAwait(false);
    }

    private static bool SameColumns(Schema a, Schema b)
        => a.FieldsList.Count == b.FieldsList.Count
           && a.FieldsList.Zip(b.FieldsList).All(p => p.First.Name == p.Second.Name && p.First.DataType.TypeId == p.Second.DataType.TypeId);

    private static RecordBatch ConcatRows(RecordBatch first, RecordBatch second)
    {
        var total = first.Length + second.Length;
        var indices = Enumerable.Range(0, total).ToArray();
        var arrays = Enumerable.Range(0, first.ColumnCount)
            .Select(c => Retrieval.ArrowTake.Take([first.Column(c), second.Column(c)], indices)).ToArray();
        return new RecordBatch(first.Schema, arrays, total);
    }

    private RecordBatch Transform(RecordBatch source, long firstRow, string sourceName)
    {
        var batch = Normalizer.Normalize(_set, source, firstRow, sourceName);
        var droppedBefore = Context.Dropped.Sum(d => d.Count);
        var rowsBefore = batch.Length;
        foreach (var step in _set.Steps)
        {
            batch = step.Process(batch, Context);
            if (batch.Schema.GetFieldIndex(FeatureStepContext.RowNumberColumn) < 0)
                throw new InvalidStateException($"Step '{step.Kind}' of feature set '{_set.Name}' removed the row-number column '{FeatureStepContext.RowNumberColumn}'. Steps must keep the columns they do not own.");
        }

        RowsDroppedByFilters += rowsBefore - batch.Length - (Context.Dropped.Sum(d => d.Count) - droppedBefore);
        RowsPassed += batch.Length;
        foreach (var e in _set.Entities.Append(_set.TimestampColumn).OfType<string>())
            if (batch.Schema.GetFieldIndex(e) < 0)
                throw new ValidationException($"A step of feature set '{_set.Name}' removed the {(e == _set.TimestampColumn ? "timestamp" : "entity")} column '{e}'. Keep it (for example, do not Drop it).");
        return batch;
    }

    /// <summary>The encoded entity key of every row.</summary>
    public string[] EntityKeys(RecordBatch batch)
    {
        var columns = _set.Entities.Select(e => batch.Column(e)).ToArray();
        var keys = new string[batch.Length];
        if (columns.Length == 1 && columns[0] is StringArray s)
        {
            // intern: entity keys repeat a lot (one string per distinct key, not per row); compare UTF-8 bytes, decode once
            for (var i = 0; i < keys.Length; i++)
            {
                var bytes = s.GetBytes(i);
                var hash = HashBytes(bytes);
                if (!_keyPool.TryGetValue(hash, out var candidates)) _keyPool[hash] = candidates = [];
                string? found = null;
                foreach (var (utf8, text) in candidates)
                    if (bytes.SequenceEqual(utf8))
                    {
                        found = text;
                        break;
                    }

                if (found is null)
                {
                    found = s.GetString(i)!;
                    candidates.Add((bytes.ToArray(), found));
                }

                keys[i] = found;
            }

            return keys;
        }

        var parts = new object[columns.Length];
        for (var i = 0; i < keys.Length; i++)
        {
            for (var c = 0; c < columns.Length; c++) parts[c] = Arrays.ValueAt(columns[c], i).ToObject()!;
            keys[i] = EntityKey.Encode(parts);
        }

        return keys;
    }

    private static int HashBytes(ReadOnlySpan<byte> bytes)
    {
        var h = new HashCode();
        h.AddBytes(bytes);
        return h.ToHashCode();
    }

    private async Task<RecordBatch> AggregateAsync(RecordBatch batch, CancellationToken cancellationToken)
    {
        var aggregator = _aggregator!;
        var keys = EntityKeys(batch);
        if (_stateStore is not null && _table is not null)
        {
            var missing = new HashSet<string>(StringComparer.Ordinal);
            foreach (var k in keys)
                if (!aggregator.HasState(k) && !_previousState.ContainsKey(k)) missing.Add(k);
            if (missing.Count > 0)
            {
                var stored = await _stateStore.LoadWindowStateAsync(_table, missing, cancellationToken).ConfigureAwait(false);
                foreach (var (k, blob) in stored)
                {
                    var (previous, current) = Unwrap(blob);
                    _previousState[k] = current;
                    aggregator.LoadState(k, previous);
                }

                foreach (var k in missing.Where(k => !stored.ContainsKey(k)))
                    _previousState[k] = [];
            }
        }

        var ts = ((TimestampArray)batch.Column(_set.TimestampColumn!)).Values;
        var inputs = aggregator.InputColumns.Select(c =>
        {
            var i = batch.Schema.GetFieldIndex(c);
            if (i < 0) throw new ValidationException($"Feature set '{_set.Name}': aggregated column '{c}' does not exist at this point. Columns: {string.Join(", ", batch.Schema.FieldsList.Select(f => f.Name).Where(n => n != FeatureStepContext.RowNumberColumn))}.");
            if (batch.Column(i) is StringArray) throw new ValidationException($"Feature set '{_set.Name}': aggregated column '{c}' holds strings; aggregations need numbers.");
            return Arrays.ToDoubles(batch.Column(i));
        }).ToArray();
        var outputs = aggregator.OutputNames.Select(_ => new double[batch.Length]).ToArray();
        aggregator.Process(keys, ts, inputs, outputs);
        for (var o = 0; o < outputs.Length; o++)
            batch = Arrays.WithColumn(batch, aggregator.OutputNames[o], Arrays.Doubles(outputs[o], batch.Length));
        return batch;
    }

    /// <summary>The window state of every entity touched, wrapped with this ingestion's number and the state before it.</summary>
    public Dictionary<string, byte[]> WindowState()
    {
        var result = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        if (_aggregator is null) return result;
        foreach (var k in _aggregator.TouchedEntities)
            result[k] = Wrap(_sequence, _previousState.GetValueOrDefault(k) ?? [], _aggregator.SaveState(k));
        return result;
    }

    // Window state is stored as [ingestion number][length of the state before it][state before][state after]. A retried
    // ingestion (same number) starts again from the state before it, so its events are never counted twice.
    private static byte[] Wrap(long sequence, byte[] previous, byte[] current)
    {
        var blob = new byte[12 + previous.Length + current.Length];
        BinaryPrimitives.WriteInt64LittleEndian(blob, sequence);
        BinaryPrimitives.WriteInt32LittleEndian(blob.AsSpan(8), previous.Length);
        previous.CopyTo(blob, 12);
        current.CopyTo(blob, 12 + previous.Length);
        return blob;
    }

    /// <summary>Returns the state to start from and the state to keep as "before" for the next save.</summary>
    private (byte[] Start, byte[] Before) Unwrap(byte[] blob)
    {
        var sequence = BinaryPrimitives.ReadInt64LittleEndian(blob);
        var previousLength = BinaryPrimitives.ReadInt32LittleEndian(blob.AsSpan(8));
        var previous = blob.AsSpan(12, previousLength).ToArray();
        var current = blob.AsSpan(12 + previousLength).ToArray();
        return _sequence != 0 && sequence == _sequence ? (previous, previous) : (current, current);
    }
}
