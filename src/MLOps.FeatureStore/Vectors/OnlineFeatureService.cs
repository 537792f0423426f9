using System.Collections.Concurrent;
using System.Globalization;
using MLOps.FeatureStore.Internal;
using MLOps.FeatureStore.Online;

namespace MLOps.FeatureStore.Vectors;

/// <summary>What the online service returns for a feature whose entity has no (or only an expired) online row.</summary>
public enum MissingPolicy
{
    /// <summary>A null value (the default).</summary>
    Null,

    /// <summary>The mean of the feature in the statistics of the last ingestion.</summary>
    Mean,

    /// <summary>The minimum in the statistics of the last ingestion.</summary>
    Min,

    /// <summary>The maximum in the statistics of the last ingestion.</summary>
    Max,

    /// <summary>The constant in <see cref="OnlineServiceOptions.Constant"/>.</summary>
    Constant,
}

/// <summary>Options of an online feature service.</summary>
public sealed record OnlineServiceOptions
{
    /// <summary>The policy for missing values of every feature (default <see cref="MissingPolicy.Null"/>).</summary>
    public MissingPolicy Missing { get; init; } = MissingPolicy.Null;

    /// <summary>The constant for <see cref="MissingPolicy.Constant"/>.</summary>
    public double Constant { get; init; }

    /// <summary>Per-feature policies (by output name), overriding <see cref="Missing"/>.</summary>
    public IReadOnlyDictionary<string, MissingPolicy> MissingByFeature { get; init; } = new Dictionary<string, MissingPolicy>();
}

/// <summary>
/// Serves a feature vector online: the latest values of every selected feature for an entity key, joined across sets
/// (shared entities and relations), with TTLs honoured and missing values imputed by policy. Thread-safe; each lookup
/// reuses pooled readers with prepared statements (no command or connection is created per call).
/// </summary>
public sealed class OnlineFeatureService : IAsyncDisposable
{
    private readonly VectorPlan _plan;
    private readonly IOnlineStore _store;
    private readonly TimeProvider _time;
    private readonly SetReader[] _sets;
    private readonly FeatureValue?[] _fallback;
    private readonly string[] _names;
    private readonly Dictionary<string, int> _index;
    private int _disposed;

    internal OnlineFeatureService(VectorPlan plan, IOnlineStore store, TimeProvider time, IReadOnlyDictionary<string, Artifacts.DatasetProfile?> statistics, OnlineServiceOptions options, Func<Online.OnlineTable, Online.OnlineTable> tableOf)
    {
        _plan = plan;
        _store = store;
        _time = time;
        var features = plan.Outputs.Where(o => !o.IsLabel).ToArray();
        Columns = features.Select(o => new FeatureColumn(o.Name, o.Type)).ToArray();
        _names = Columns.Select(c => c.Name).ToArray();
        _index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < _names.Length; i++) _index.TryAdd(_names[i], i);
        _sets = plan.Sets.Select(p =>
        {
            var table = tableOf(new Online.OnlineTable("", p.Set.Name, [], "", []));
            var reads = p.Reads.Distinct(StringComparer.Ordinal).Where(r => table.Features.Any(f => f.Name == r)).ToArray();
            var outputs = features.Select((o, i) => (o, i)).Where(x => x.o.Set == p).Select(x => (Output: x.i, Read: Array.IndexOf(reads, x.o.Column))).ToArray();
            return new SetReader(p, table, reads, outputs);
        }).ToArray();
        _fallback = features.Select(o =>
        {
            var policy = options.MissingByFeature.TryGetValue(o.Name, out var p) ? p : options.Missing;
            if (policy == MissingPolicy.Null) return (FeatureValue?)null;
            if (policy == MissingPolicy.Constant) return Typed(o.Type, options.Constant);
            var stats = statistics.GetValueOrDefault(o.Set.Set.Name)?.Statistics.FirstOrDefault(s => s.Name == o.Column);
            var value = policy switch { MissingPolicy.Mean => stats?.Mean, MissingPolicy.Min => stats?.Min, _ => stats?.Max };
            return value is { } v ? Typed(o.Type, v) : null;
        }).ToArray();
    }

    private static FeatureValue Typed(FeatureType type, double v) => type switch
    {
        FeatureType.Int64 => FeatureValue.FromInt64((long)Math.Round(v)),
        FeatureType.Boolean => FeatureValue.FromBoolean(v != 0),
        FeatureType.Timestamp => FeatureValue.FromTimestamp((long)v),
        FeatureType.String => FeatureValue.FromString(v.ToString(CultureInfo.InvariantCulture)),
        _ => FeatureValue.FromDouble(v),
    };

    /// <summary>The features returned, in vector order (the label is not served).</summary>
    public IReadOnlyList<FeatureColumn> Columns { get; }

    /// <summary>The entity columns a lookup needs.</summary>
    public IReadOnlyList<string> EntityColumns => _plan.RequestKeys.Select(k => k.Name).ToArray();

    /// <summary>Looks up one entity.</summary>
    /// <param name="keys">The entity columns and their values, e.g. <c>{ ["origin"] = "SFO" }</c>.</param>
    /// <param name="cancellationToken">Cancels the lookup.</param>
    /// <returns>The row; features of sets without a (live) row are missing (null or imputed) and <see cref="FeatureRow.Found"/> is false.</returns>
    /// <exception cref="ValidationException">A key column is missing.</exception>
    public ValueTask<FeatureRow> GetAsync(IReadOnlyDictionary<string, object> keys, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(Get(keys));
    }

    /// <summary>Looks up many entities (in one pass over pooled readers).</summary>
    /// <param name="keys">The entity keys.</param>
    /// <param name="cancellationToken">Cancels the lookup.</param>
    /// <returns>One row per key, in order.</returns>
    public ValueTask<IReadOnlyList<FeatureRow>> GetManyAsync(IReadOnlyList<IReadOnlyDictionary<string, object>> keys, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var rows = new FeatureRow[keys.Count];
        var readers = Rent();
        try
        {
            for (var i = 0; i < rows.Length; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                rows[i] = Lookup(keys[i], readers);
            }
        }
        finally
        {
            Return(readers);
        }

        return ValueTask.FromResult<IReadOnlyList<FeatureRow>>(rows);
    }

    /// <summary>Looks up one entity synchronously (the store is in-process; this never blocks on I/O other than the local read).</summary>
    /// <param name="keys">The entity columns and their values.</param>
    /// <returns>The row.</returns>
    public FeatureRow Get(IReadOnlyDictionary<string, object> keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var readers = Rent();
        try
        {
            return Lookup(keys, readers);
        }
        finally
        {
            Return(readers);
        }
    }

    private IOnlineReader[] Rent()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var readers = new IOnlineReader[_sets.Length];
        for (var s = 0; s < _sets.Length; s++)
            readers[s] = _sets[s].Pool.TryTake(out var r) ? r : _store.OpenReader(_sets[s].Table, _sets[s].Reads);
        return readers;
    }

    private void Return(IOnlineReader[] readers)
    {
        for (var s = 0; s < readers.Length; s++)
        {
            if (Volatile.Read(ref _disposed) != 0 || _sets[s].Pool.Count >= Environment.ProcessorCount * 4) readers[s].Dispose();
            else _sets[s].Pool.Add(readers[s]);
        }
    }

    private FeatureRow Lookup(IReadOnlyDictionary<string, object> keys, IOnlineReader[] readers)
    {
        var values = new FeatureValue[_names.Length];
        var found = true;
        var now = Timestamps.FromDateTimeOffset(_time.GetUtcNow());
        FeatureValue[]? read = null;
        var setValues = new FeatureValue[_sets.Length][];
        for (var s = 0; s < _sets.Length; s++)
        {
            var set = _sets[s];
            var key = KeyOf(set, keys, setValues);
            read = new FeatureValue[set.Reads.Length];
            var ok = key is not null && readers[s].TryRead(key, read, out var eventTime)
                && (set.Plan.Set.OnlineTtl is not { } ttl || now - eventTime <= ttl.Ticks / 10);
            if (!ok)
            {
                found = false;
                for (var r = 0; r < read.Length; r++) read[r] = FeatureValue.Null(set.Table.Features.First(f => f.Name == set.Reads[r]).Type);
            }

            setValues[s] = read;
            foreach (var (output, column) in set.Outputs)
                values[output] = ok ? read[column] : _fallback[output] ?? read[column];
        }

        return new FeatureRow(_names, _index, values, found);
    }

    private string? KeyOf(SetReader set, IReadOnlyDictionary<string, object> keys, FeatureValue[][] setValues)
    {
        var parts = new object[set.Plan.Keys.Count];
        for (var k = 0; k < parts.Length; k++)
        {
            var source = set.Plan.Keys[k];
            if (source.Set is null)
            {
                if (!keys.TryGetValue(source.Column, out var v) || v is null)
                    throw new ValidationException($"The lookup has no value for the entity column '{source.Column}'. Pass every entity column: {string.Join(", ", EntityColumns)}.");
                parts[k] = v;
            }
            else
            {
                var from = Array.FindIndex(_sets, x => x.Plan == source.Set);
                var value = setValues[from][Array.IndexOf(_sets[from].Reads, source.Column)];
                if (value.IsNull) return null;
                parts[k] = value.ToObject()!;
            }
        }

        return EntityKey.Encode(parts);
    }

    /// <inheritdoc/>
    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return ValueTask.CompletedTask;
        foreach (var s in _sets)
            while (s.Pool.TryTake(out var r)) r.Dispose();
        return ValueTask.CompletedTask;
    }

    private sealed class SetReader(SetPlan plan, OnlineTable table, string[] reads, (int Output, int Read)[] outputs)
    {
        public SetPlan Plan { get; } = plan;

        public OnlineTable Table { get; } = table;

        public string[] Reads { get; } = reads;

        public (int Output, int Column)[] Outputs { get; } = outputs;

        public ConcurrentBag<IOnlineReader> Pool { get; } = [];
    }
}

/// <summary>One online feature row: typed values by name, without boxing until asked.</summary>
public sealed class FeatureRow
{
    private readonly string[] _names;
    private readonly Dictionary<string, int> _index;
    private readonly FeatureValue[] _values;

    internal FeatureRow(string[] names, Dictionary<string, int> index, FeatureValue[] values, bool found)
    {
        _names = names;
        _index = index;
        _values = values;
        Found = found;
    }

    /// <summary>Whether every set of the vector had a live row for the entity.</summary>
    public bool Found { get; }

    /// <summary>The feature names, in order.</summary>
    public IReadOnlyList<string> Names => _names;

    /// <summary>The values, in order.</summary>
    public IReadOnlyList<FeatureValue> Values => _values;

    private int IndexOf(string name) => _index.TryGetValue(name, out var i) ? i
        : throw new ValidationException($"The feature '{name}' is not in this vector. Its features: {string.Join(", ", _names)}.");

    /// <summary>A value by name.</summary>
    /// <param name="name">The feature.</param>
    /// <returns>The typed value.</returns>
    public FeatureValue GetValue(string name) => _values[IndexOf(name)];

    /// <summary>A number by name (NaN when null).</summary>
    /// <param name="name">The feature.</param>
    /// <returns>The value.</returns>
    public double GetDouble(string name) => _values[IndexOf(name)].AsDouble();

    /// <summary>A string by name (null when null).</summary>
    /// <param name="name">The feature.</param>
    /// <returns>The value.</returns>
    public string? GetString(string name) => _values[IndexOf(name)] is { IsNull: false } v ? v.Text ?? Convert.ToString(v.ToObject(), CultureInfo.InvariantCulture) : null;

    /// <summary>Whether a value is null.</summary>
    /// <param name="name">The feature.</param>
    /// <returns>Whether it is null.</returns>
    public bool IsNull(string name) => _values[IndexOf(name)].IsNull;

    /// <summary>A value boxed (double, long, bool, string, DateTimeOffset or null).</summary>
    /// <param name="name">The feature.</param>
    /// <returns>The value.</returns>
    public object? this[string name] => _values[IndexOf(name)].ToObject();

    /// <summary>The row as a dictionary of boxed values.</summary>
    /// <returns>The dictionary.</returns>
    public IReadOnlyDictionary<string, object?> ToDictionary()
    {
        var d = new Dictionary<string, object?>(_names.Length, StringComparer.Ordinal);
        for (var i = 0; i < _names.Length; i++) d[_names[i]] = _values[i].ToObject();
        return d;
    }

    /// <summary>The features as a float vector for an ML.NET model (NaN for nulls and strings).</summary>
    /// <returns>The values.</returns>
    public float[] ToSingles()
    {
        var result = new float[_values.Length];
        for (var i = 0; i < result.Length; i++) result[i] = (float)_values[i].AsDouble();
        return result;
    }

    /// <inheritdoc/>
    public override string ToString() => string.Join(", ", _names.Select((n, i) => $"{n}={_values[i].ToObject() ?? "null"}"));
}
