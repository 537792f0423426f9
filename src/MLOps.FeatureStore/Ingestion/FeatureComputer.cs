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
    private WindowAggregator? _aggregator;
    private readonly IOnlineStore? _stateStore;
    private readonly OnlineTable? _table;
    private readonly long _sequence;
    private readonly Dictionary<string, byte[]> _previousState = new(StringComparer.Ordinal);
    // real-time (pushed) events still in the window state, per entity: event time -> count
    private readonly Dictionary<string, Dictionary<long, int>> _pushed = new(StringComparer.Ordinal);
    // a batch ingestion takes the pushed events out of the loaded state: they are put back in time order unless a batch
    // row of the same entity and time supersedes them
    private readonly Dictionary<string, List<(long Ts, double[] Values)>> _pending = new(StringComparer.Ordinal);
    // the real-time path: per entity, the state of the last batch ingestion's events (which pushes do not trim), kept
    // for a later batch that supersedes the pushed events
    private readonly Dictionary<string, byte[]> _base = new(StringComparer.Ordinal);
    private readonly Dictionary<int, List<(byte[] Utf8, string Text)>> _keyPool = [];
    private RecordBatch? _held;
    // the keys computed last and the entity column they are of: an aggregated batch keeps its input's entity column, so
    // staging it online (or noting its keys) does not encode them again
    private (IArrowArray Column, string[] Keys)? _lastKeys;

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
    public async Task<RecordBatch> ComputeAsync(RecordBatch source, long firstRow, string sourceName, TimeZoneInfo zone, CancellationToken cancellationToken)
    {
        var batch = Transform(source, firstRow, sourceName, zone);
        if (_aggregator is not null && batch.Length > 0)
            batch = await AggregateAsync(batch, cancellationToken).ConfigureAwait(false);
        return batch;
    }

    /// <summary>
    /// Aggregates a transformed chunk of a time-ordered stream (every chunk's rows at or after the previous chunk's latest
    /// time), holding back the rows at the chunk's latest time for the next chunk. Without aggregations the chunk is
    /// returned as it is.
    /// </summary>
    public async Task<IReadOnlyList<RecordBatch>> AggregateChunkAsync(RecordBatch batch, CancellationToken cancellationToken)
    {
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

    /// <summary>The transformed rows held back for the next chunk (not aggregated yet), removed from this computer.</summary>
    public RecordBatch? TakeHeld()
    {
        var held = _held;
        _held = null;
        return held;
    }

    /// <summary>
    /// Starts the window aggregations again from the stored window state, forgetting every event aggregated so far (an
    /// ingestion that found its source out of time order re-aggregates everything in order).
    /// </summary>
    public void ResetAggregation()
    {
        if (_aggregator is null) return;
        _aggregator = new WindowAggregator(_set.Aggregations);
        _previousState.Clear();
        _pushed.Clear();
        _pending.Clear();
        _base.Clear();
        _held = null;
    }

    /// <summary>Aggregates the rows held back by <see cref="AggregateChunkAsync"/> at the end of the source.</summary>
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

    /// <summary>Normalizes and runs the steps on one source batch (no aggregation). The result keeps the row-number column.</summary>
    public RecordBatch Transform(RecordBatch source, long firstRow, string sourceName, TimeZoneInfo zone)
    {
        var batch = Normalizer.Normalize(_set, source, firstRow, sourceName, zone);
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

    /// <summary>The encoded entity key of every row (the array is shared: callers must not change it).</summary>
    public string[] EntityKeys(RecordBatch batch)
    {
        var columns = _set.Entities.Select(e => batch.Column(e)).ToArray();
        var keys = new string[batch.Length];
        if (columns.Length == 1 && columns[0] is StringArray s)
        {
            if (_lastKeys is { } last && ReferenceEquals(last.Column, s) && last.Keys.Length == keys.Length) return last.Keys;
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

            _lastKeys = (s, keys);
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
                    var (start, pushed, batchOnly, before) = Unwrap(blob);
                    _previousState[k] = before;
                    aggregator.LoadState(k, start);
                    if (Context.IsRealTime)
                    {
                        if (pushed.Count > 0) _pushed[k] = pushed;
                        _base[k] = batchOnly ?? start;
                    }
                    else if (pushed.Count > 0)
                    {
                        // the pushed events wait for the batch to reach their time; the batch's events start from the
                        // last batch's state, which later pushes did not trim
                        TakePushed(aggregator, k, pushed);
                        if (batchOnly is not null) aggregator.LoadState(k, batchOnly);
                    }
                }

                foreach (var k in missing.Where(k => !stored.ContainsKey(k)))
                    _previousState[k] = [];
            }
        }

        var ts = ((TimestampArray)batch.Column(_set.TimestampColumn!)).Values;
        var rows = batch.Length;
        string[] allKeys = keys;
        long[]? allTs = null;
        List<(string Key, long Ts, double[] Values)>? putBack = null;
        if (!Context.IsRealTime && _pending.Count > 0)
        {
            // the batch is authoritative for the (entity, time) keys it holds: pushed events at them are dropped; the
            // others up to this chunk's latest time go back in, aggregated with the chunk (their outputs are not used)
            var latest = long.MinValue;
            for (var i = 0; i < keys.Length; i++)
            {
                var t = ts[i];
                latest = Math.Max(latest, t);
                if (_pending.TryGetValue(keys[i], out var events)) events.RemoveAll(e => e.Ts == t);
            }

            foreach (var key in keys.Distinct())
            {
                if (!_pending.TryGetValue(key, out var events)) continue;
                foreach (var e in events.Where(e => e.Ts <= latest)) (putBack ??= []).Add((key, e.Ts, e.Values));
                events.RemoveAll(e => e.Ts <= latest);
                if (events.Count == 0) _pending.Remove(key);
            }

            if (putBack is not null)
            {
                allKeys = [.. keys, .. putBack.Select(p => p.Key)];
                allTs = [.. ts, .. putBack.Select(p => p.Ts)];
                foreach (var (key, t, _) in putBack) MarkPushed(key, t);
            }
        }

        var inputs = aggregator.InputColumns.Select(c =>
        {
            var i = batch.Schema.GetFieldIndex(c);
            if (i < 0) throw new ValidationException($"Feature set '{_set.Name}': aggregated column '{c}' does not exist at this point. Columns: {string.Join(", ", batch.Schema.FieldsList.Select(f => f.Name).Where(n => n != FeatureStepContext.RowNumberColumn))}.");
            if (batch.Column(i) is StringArray) throw new ValidationException($"Feature set '{_set.Name}': aggregated column '{c}' holds strings; aggregations need numbers.");
            return Arrays.ToDoubles(batch.Column(i));
        }).ToArray();
        if (putBack is not null)
            for (var c = 0; c < inputs.Length; c++) inputs[c] = [.. inputs[c], .. putBack.Select(p => p.Values[c])];
        var outputs = aggregator.OutputNames.Select(_ => new double[allKeys.Length]).ToArray();
        if (allTs is null) aggregator.Process(keys, ts, inputs, outputs);
        else aggregator.Process(allKeys, allTs, inputs, outputs);
        if (Context.IsRealTime)
            for (var i = 0; i < keys.Length; i++) MarkPushed(keys[i], ts[i]);

        for (var o = 0; o < outputs.Length; o++)
            batch = Arrays.WithColumn(batch, aggregator.OutputNames[o], Arrays.Doubles(outputs[o], rows));
        return batch;
    }

    private void MarkPushed(string key, long ts)
    {
        if (!_pushed.TryGetValue(key, out var marks)) _pushed[key] = marks = [];
        marks[ts] = marks.GetValueOrDefault(ts) + 1;
    }

    /// <summary>Takes an entity's pushed events out of its loaded state, pending until the batch reaches their time.</summary>
    private void TakePushed(WindowAggregator aggregator, string key, Dictionary<long, int> pushed)
    {
        var events = new List<(long Ts, double[] Values)>();
        foreach (var (t, count) in pushed.OrderBy(p => p.Key))
            foreach (var values in aggregator.TakeEvents(key, t, count))
                events.Add((t, values));
        if (events.Count > 0) _pending[key] = events;
    }

    /// <summary>Puts the pushed events that no batch row superseded and that are later than the batch back into the state.</summary>
    private void PutBackPending()
    {
        if (_pending.Count == 0) return;
        var keys = new List<string>();
        var ts = new List<long>();
        var inputs = _aggregator!.InputColumns.Select(_ => new List<double>()).ToArray();
        foreach (var (key, events) in _pending)
        {
            foreach (var (t, values) in events)
            {
                keys.Add(key);
                ts.Add(t);
                for (var c = 0; c < inputs.Length; c++) inputs[c].Add(values[c]);
                MarkPushed(key, t);
            }
        }

        _pending.Clear();
        var outputs = _aggregator.OutputNames.Select(_ => new double[keys.Count]).ToArray();
        _aggregator.Process(keys, ts.ToArray(), inputs.Select(i => i.ToArray()).ToArray(), outputs);
    }

    /// <summary>The window state of every entity touched, wrapped with this ingestion's number and the state before it.</summary>
    public Dictionary<string, byte[]> WindowState()
    {
        var result = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        if (_aggregator is null) return result;
        PutBackPending();
        foreach (var k in _aggregator.TouchedEntities.ToArray())
        {
            var pushed = PushedStillRetained(k);
            var state = _aggregator.SaveState(k);
            byte[]? batchOnly = null;
            if (Context.IsRealTime) batchOnly = _base.GetValueOrDefault(k) ?? []; // an entity new with this push has no batch events
            else if (pushed.Count > 0)
            {
                // the state without the pushed events (this computer is done: its state may change now)
                foreach (var (ts, count) in pushed) _aggregator.TakeEvents(k, ts, count);
                batchOnly = _aggregator.SaveState(k);
            }

            result[k] = Wrap(_sequence, _previousState.GetValueOrDefault(k) ?? [], EntityState(state, pushed, batchOnly));
        }

        return result;
    }

    /// <summary>The pushed-event marks of an entity whose events are still retained (no more than are retained at each time).</summary>
    private List<(long Ts, int Count)> PushedStillRetained(string key)
    {
        var kept = new List<(long, int)>();
        if (!_pushed.TryGetValue(key, out var marks)) return kept;
        foreach (var (ts, count) in marks)
        {
            var retained = Math.Min(count, _aggregator!.EventsAt(key, ts));
            if (retained > 0) kept.Add((ts, retained));
        }

        return kept;
    }

    // Window state is stored per entity as [marker][ingestion number][length of the state before it][state before][state
    // after]. A retried ingestion (same number) starts again from the state before it, so its events are never counted
    // twice. Each state is [length of the aggregator state][aggregator state][pushed-event count][(time, count)...][length
    // of the batch-only state, or -1 when it is the aggregator state][batch-only state]: the events that came from
    // real-time pushes, which a batch ingestion of the same entity and time supersedes, and the events of batch
    // ingestions alone as of the last one (pushes move the latest time forward and so trim older events that a batch
    // backfilling the pushed period needs). State saved before pushed events were marked ([ingestion number][length]
    // [before][after], plain aggregator states, no marker) still reads.
    private const long Marker = long.MinValue;

    private static byte[] EntityState(byte[] aggregator, List<(long Ts, int Count)> pushed, byte[]? batchOnly)
    {
        var blob = new byte[12 + aggregator.Length + 12 * pushed.Count + (batchOnly?.Length ?? 0)];
        BinaryPrimitives.WriteInt32LittleEndian(blob, aggregator.Length);
        aggregator.CopyTo(blob, 4);
        var at = 4 + aggregator.Length;
        BinaryPrimitives.WriteInt32LittleEndian(blob.AsSpan(at), pushed.Count);
        at += 4;
        foreach (var (ts, count) in pushed)
        {
            BinaryPrimitives.WriteInt64LittleEndian(blob.AsSpan(at), ts);
            BinaryPrimitives.WriteInt32LittleEndian(blob.AsSpan(at + 8), count);
            at += 12;
        }

        BinaryPrimitives.WriteInt32LittleEndian(blob.AsSpan(at), batchOnly?.Length ?? -1);
        batchOnly?.CopyTo(blob, at + 4);
        return blob;
    }

    private static (byte[] Aggregator, Dictionary<long, int> Pushed, byte[]? BatchOnly) ReadEntityState(ReadOnlySpan<byte> blob)
    {
        var pushed = new Dictionary<long, int>();
        if (blob.IsEmpty) return ([], pushed, null);
        var length = BinaryPrimitives.ReadInt32LittleEndian(blob);
        var aggregator = blob.Slice(4, length).ToArray();
        var at = 4 + length;
        var count = BinaryPrimitives.ReadInt32LittleEndian(blob[at..]);
        at += 4;
        for (var i = 0; i < count; i++, at += 12)
            pushed[BinaryPrimitives.ReadInt64LittleEndian(blob[at..])] = BinaryPrimitives.ReadInt32LittleEndian(blob[(at + 8)..]);
        var batchLength = BinaryPrimitives.ReadInt32LittleEndian(blob[at..]);
        return (aggregator, pushed, batchLength < 0 ? null : blob.Slice(at + 4, batchLength).ToArray());
    }

    private static byte[] Wrap(long sequence, byte[] previous, byte[] current)
    {
        var blob = new byte[20 + previous.Length + current.Length];
        BinaryPrimitives.WriteInt64LittleEndian(blob, Marker);
        BinaryPrimitives.WriteInt64LittleEndian(blob.AsSpan(8), sequence);
        BinaryPrimitives.WriteInt32LittleEndian(blob.AsSpan(16), previous.Length);
        previous.CopyTo(blob, 20);
        current.CopyTo(blob, 20 + previous.Length);
        return blob;
    }

    /// <summary>Returns the state to start from, its pushed-event marks, its batch-only state (null: the same), and the state to keep as "before" for the next save.</summary>
    private (byte[] Start, Dictionary<long, int> Pushed, byte[]? BatchOnly, byte[] Before) Unwrap(byte[] blob)
    {
        byte[] previous, current;
        long sequence;
        if (blob.Length >= 20 && BinaryPrimitives.ReadInt64LittleEndian(blob) == Marker)
        {
            sequence = BinaryPrimitives.ReadInt64LittleEndian(blob.AsSpan(8));
            var previousLength = BinaryPrimitives.ReadInt32LittleEndian(blob.AsSpan(16));
            previous = blob.AsSpan(20, previousLength).ToArray();
            current = blob.AsSpan(20 + previousLength).ToArray();
        }
        else
        {
            // the format before pushed events were marked: plain aggregator states
            sequence = BinaryPrimitives.ReadInt64LittleEndian(blob);
            var previousLength = BinaryPrimitives.ReadInt32LittleEndian(blob.AsSpan(8));
            var plainPrevious = blob.AsSpan(12, previousLength).ToArray();
            var plainCurrent = blob.AsSpan(12 + previousLength).ToArray();
            previous = plainPrevious.Length == 0 ? [] : EntityState(plainPrevious, [], null);
            current = EntityState(plainCurrent, [], null);
        }

        var chosen = _sequence != 0 && sequence == _sequence ? previous : current;
        var (start, pushed, batchOnly) = ReadEntityState(chosen);
        return (start, pushed, batchOnly, chosen);
    }
}
