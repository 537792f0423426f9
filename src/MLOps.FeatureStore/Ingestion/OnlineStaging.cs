using MLOps.FeatureStore.Internal;
using MLOps.FeatureStore.Offline;
using MLOps.FeatureStore.Retrieval;

namespace MLOps.FeatureStore.Ingestion;

/// <summary>
/// The online rows an ingestion or push will write, staged in memory until its commit: the latest row per entity by
/// event time, ties going to the row processed later. Memory: one row per entity (plus candidates between compactions).
/// </summary>
internal sealed class OnlineStaging
{
    private const int CompactAbove = 65_536;

    private readonly IReadOnlyList<FeatureColumn> _columns;
    private readonly Dictionary<string, (int Batch, int Row, long Ts)> _latest = new(StringComparer.Ordinal);
    private readonly List<RecordBatch> _batches = [];
    private int _rows;

    /// <param name="columns">The columns written: the entities, the timestamp column and the features.</param>
    public OnlineStaging(IReadOnlyList<FeatureColumn> columns) => _columns = columns;

    /// <summary>The entities staged.</summary>
    public IReadOnlyCollection<string> Entities => _latest.Keys;

    /// <summary>Stages the rows of a batch that are the latest of their entity so far.</summary>
    /// <param name="keys">The encoded entity key of every row.</param>
    /// <param name="ts">The event time of every row.</param>
    /// <param name="rows">The rows (extra columns are ignored, missing ones are null).</param>
    public void Add(string[] keys, ReadOnlySpan<long> ts, RecordBatch rows)
    {
        var winners = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < keys.Length; i++)
            if (!winners.TryGetValue(keys[i], out var j) || ts[i] >= ts[j]) winners[keys[i]] = i;
        var take = new List<int>(winners.Count);
        foreach (var (key, i) in winners)
            if (!_latest.TryGetValue(key, out var staged) || ts[i] >= staged.Ts) take.Add(i);
        if (take.Count == 0) return;
        take.Sort();
        var indices = take.ToArray();
        var batch = Arrays.TakeRows(OfflineStore.Conform(rows, _columns), indices); // copied: the source may be disposed
        var b = _batches.Count;
        _batches.Add(batch);
        _rows += batch.Length;
        for (var r = 0; r < indices.Length; r++) _latest[keys[indices[r]]] = (b, r, ts[indices[r]]);
        if (_rows > CompactAbove && _rows > 2 * _latest.Count) Compact();
    }

    /// <summary>One batch with the latest row of every staged entity.</summary>
    public RecordBatch ToBatch()
    {
        if (_batches.Count == 0)
            return new RecordBatch(new Schema(_columns.Select(c => Arrays.Field(c.Name, c.Type)), null), _columns.Select(c => Arrays.Nulls(c.Type, 0)), 0);
        Compact();
        return _batches[0];
    }

    /// <summary>Forgets everything staged.</summary>
    public void Clear()
    {
        _latest.Clear();
        _batches.Clear();
        _rows = 0;
    }

    private void Compact()
    {
        if (_batches.Count == 1 && _rows == _latest.Count) return;
        var starts = new int[_batches.Count];
        for (int b = 0, total = 0; b < _batches.Count; total += _batches[b].Length, b++) starts[b] = total;
        var entries = _latest.ToArray();
        var indices = new int[entries.Length];
        for (var i = 0; i < entries.Length; i++) indices[i] = starts[entries[i].Value.Batch] + entries[i].Value.Row;
        var arrays = new IArrowArray[_columns.Count];
        for (var c = 0; c < arrays.Length; c++)
            arrays[c] = ArrowTake.Take(_batches.Select(b => b.Column(c)).ToArray(), indices);
        var compact = new RecordBatch(_batches[0].Schema, arrays, indices.Length);
        _batches.Clear();
        _batches.Add(compact);
        _rows = compact.Length;
        for (var i = 0; i < entries.Length; i++) _latest[entries[i].Key] = (0, i, entries[i].Value.Ts);
    }
}
