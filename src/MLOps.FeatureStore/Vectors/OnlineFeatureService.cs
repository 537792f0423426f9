using System.Collections.Concurrent;
using System.Diagnostics;
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
    /// <summary>The policy for missing values of every feature. <value>Defaults to <see cref="MissingPolicy.Null"/>.</value></summary>
    public MissingPolicy Missing { get; init; } = MissingPolicy.Null;

    /// <summary>The constant for <see cref="MissingPolicy.Constant"/>. <value>Defaults to 0.</value></summary>
    public double Constant { get; init; }

    /// <summary>Per-feature policies (by output name), overriding <see cref="Missing"/>. <value>Defaults to none.</value></summary>
    public IReadOnlyDictionary<string, MissingPolicy> MissingByFeature { get; init; } = new Dictionary<string, MissingPolicy>();

    /// <summary>Lists every problem of these options at once; each names the property, the value and the fix.
    /// <c>GetOnlineServiceAsync</c> throws one <see cref="ValidationException"/> listing them.</summary>
    /// <returns>The problems; empty when valid.</returns>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (!Enum.IsDefined(Missing))
            errors.Add($"OnlineServiceOptions.Missing is {Missing}; use a MissingPolicy: {string.Join(", ", Enum.GetNames<MissingPolicy>())} (default Null).");
        if (MissingByFeature is null)
            errors.Add("OnlineServiceOptions.MissingByFeature is null; use an empty dictionary (the default) for no per-feature policy.");
        else
            foreach (var (feature, policy) in MissingByFeature)
                if (!Enum.IsDefined(policy))
                    errors.Add($"OnlineServiceOptions.MissingByFeature['{feature}'] is {policy}; use a MissingPolicy: {string.Join(", ", Enum.GetNames<MissingPolicy>())}.");
        return errors;
    }
}

/// <summary>
/// Serves a feature vector online: the latest values of every selected feature for an entity key, joined across sets
/// (shared entities and relations), with TTLs honoured and missing values imputed by policy. Thread-safe; each lookup
/// reuses a pooled session (one reader with prepared statements per set, plus scratch buffers), so no command,
/// connection or scratch array is created per call: a lookup allocates its result row only.
/// </summary>
public sealed class OnlineFeatureService : IAsyncDisposable
{
    /// <summary>The most rows <see cref="GetManyAsync"/> reads per set in one batch (bounds the pooled scratch).</summary>
    private const int ChunkRows = 256;

    private readonly VectorPlan _plan;
    private readonly IOnlineStore _store;
    private readonly TimeProvider _time;
    private readonly SetReader[] _sets;
    private readonly FeatureValue?[] _fallback;
    private readonly string[] _names;
    private readonly Dictionary<string, int> _index;
    private readonly IReadOnlyList<string> _entityColumns;
    private readonly ConcurrentBag<Session> _pool = [];
    private readonly int _maxPooled = Environment.ProcessorCount * 4;
    private Session? _spare;
    private int _pooled;
    private readonly FeatureStoreTelemetry _telemetry;
    private readonly string _project;
    private readonly string _vector;
    private readonly KeyValuePair<string, object?>[] _tags;
    private int _disposed;

    internal OnlineFeatureService(VectorPlan plan, IOnlineStore store, TimeProvider time, IReadOnlyDictionary<string, DatasetProfile?> statistics, OnlineServiceOptions options, Func<Online.OnlineTable, Online.OnlineTable> tableOf,
        FeatureStoreTelemetry telemetry, string project, string vector)
    {
        _telemetry = telemetry;
        _project = project;
        _vector = vector;
        _tags = [new(FeatureStoreDiagnostics.ProjectTag, project), new(FeatureStoreDiagnostics.FeatureVectorTag, vector)];
        _plan = plan;
        _store = store;
        _time = time;
        var features = plan.Outputs.Where(o => !o.IsLabel).ToArray();
        Columns = features.Select(o => new FeatureColumn(o.Name, o.Type)).ToArray();
        _names = Columns.Select(c => c.Name).ToArray();
        _index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < _names.Length; i++) _index.TryAdd(_names[i], i);
        _entityColumns = Array.AsReadOnly(plan.RequestKeys.Select(k => k.Name).ToArray());
        var sets = new SetReader[plan.Sets.Count];
        for (var s = 0; s < sets.Length; s++)
        {
            var p = plan.Sets[s];
            var table = tableOf(new Online.OnlineTable("", p.Set.Name, [], "", []));
            var reads = p.Reads.Distinct(StringComparer.Ordinal).Where(r => table.Features.Any(f => f.Name == r)).ToArray();
            var outputs = features.Select((o, i) => (o, i)).Where(x => x.o.Set == p).Select(x => (Output: x.i, Read: Array.IndexOf(reads, x.o.Column))).ToArray();
            var nulls = reads.Select(r => FeatureValue.Null(table.Features.First(f => f.Name == r).Type)).ToArray();
            var keys = p.Keys.Select(k =>
            {
                if (k.Set is null) return new KeyPart(k.Column, -1, -1);
                var from = Array.FindIndex(sets, 0, s, x => x.Plan == k.Set);
                var column = from < 0 ? -1 : Array.IndexOf(sets[from].Reads, k.Column);
                if (column < 0) throw new InvalidOperationException($"The key '{k.Column}' of feature set '{p.Set.Name}' comes from a set that is not read before it.");
                return new KeyPart(null, from, column);
            }).ToArray();
            sets[s] = new SetReader(p, table, reads, outputs, nulls, keys, p.Set.OnlineTtl is { } ttl ? ttl.Ticks / 10 : -1);
        }

        _sets = sets;
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
    public IReadOnlyList<string> EntityColumns => _entityColumns;

    /// <summary>Looks up one entity; this overload lets a call write the keys inline: <c>GetAsync(new() { ["origin"] = "SFO" })</c>.</summary>
    /// <param name="keys">The entity columns and their values.</param>
    /// <param name="cancellationToken">Cancels the lookup.</param>
    /// <returns>The row (see <see cref="GetAsync(IReadOnlyDictionary{string, object}, CancellationToken)"/>).</returns>
    public ValueTask<FeatureRow> GetAsync(Dictionary<string, object> keys, CancellationToken cancellationToken = default)
        => GetAsync((IReadOnlyDictionary<string, object>)keys, cancellationToken);

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

    /// <summary>
    /// Looks up many entities: set by set (in join order, since a related set's keys come from an earlier set's values),
    /// each set's rows are read in one batch (<see cref="IOnlineReader.TryReadMany"/>; with the SQLite store, one read
    /// transaction per set and batch of up to 256 keys). The rows are the same as <see cref="GetAsync(IReadOnlyDictionary{string, object}, CancellationToken)"/> per key.
    /// </summary>
    /// <param name="keys">The entity keys.</param>
    /// <param name="cancellationToken">Cancels the lookup.</param>
    /// <returns>One row per key, in order.</returns>
    /// <exception cref="ValidationException">A key column is missing, or an entry of <paramref name="keys"/> is null (the message names its index).</exception>
    public ValueTask<IReadOnlyList<FeatureRow>> GetManyAsync(IReadOnlyList<IReadOnlyDictionary<string, object>> keys, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        cancellationToken.ThrowIfCancellationRequested();
        var count = keys.Count;
        if (count == 0) return ValueTask.FromResult<IReadOnlyList<FeatureRow>>([]);
        var rows = new FeatureRow[count];
        // nothing is measured or tagged unless someone listens
        Session? session = Rent();
        var observation = _telemetry.OnlineLookupObserved ? StartObservation(count) : default;
        try
        {
            var now = Timestamps.FromDateTimeOffset(_time.GetUtcNow());
            var batch = session!.Batch ??= new BatchScratch(_sets);
            for (var start = 0; start < count; start += ChunkRows)
            {
                if (start > 0) cancellationToken.ThrowIfCancellationRequested();
                LookupChunk(keys, start, Math.Min(ChunkRows, count - start), rows, session, batch, now);
            }
        }
        catch (Exception e) when (IsReaderFailure(e))
        {
            Discard(ref session);
            observation.Fail(e);
            throw;
        }
        catch (Exception e) when (observation.Fail(e))
        {
            throw; // not reached: Fail returns false
        }
        finally
        {
            if (session is not null) Return(session);
            observation.Stop(rows);
        }

        return ValueTask.FromResult<IReadOnlyList<FeatureRow>>(rows);
    }

    /// <summary>Looks up one entity synchronously (the store is in-process; this never blocks on I/O other than the local read).</summary>
    /// <param name="keys">The entity columns and their values.</param>
    /// <returns>The row.</returns>
    /// <exception cref="ValidationException">A key column is missing.</exception>
    public FeatureRow Get(IReadOnlyDictionary<string, object> keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        // nothing is measured or tagged unless someone listens
        FeatureRow? row = null;
        Session? session = Rent();
        var observation = _telemetry.OnlineLookupObserved ? StartObservation(1) : default;
        try
        {
            row = Lookup(keys, session!, Timestamps.FromDateTimeOffset(_time.GetUtcNow()));
            return row;
        }
        catch (Exception e) when (IsReaderFailure(e))
        {
            Discard(ref session);
            observation.Fail(e);
            throw;
        }
        catch (Exception e) when (observation.Fail(e))
        {
            throw; // not reached: Fail returns false
        }
        finally
        {
            if (session is not null) Return(session);
            observation.Stop(row);
        }
    }

    private LookupObservation StartObservation(int entities)
    {
        var activity = FeatureStoreTelemetry.Start(FeatureStoreDiagnostics.OnlineLookupActivity, _project);
        if (activity is not null)
        {
            activity.SetTag(FeatureStoreDiagnostics.FeatureVectorTag, _vector);
            activity.SetTag("mlops.online.entities", entities);
        }

        return new LookupObservation(this, activity, entities, Stopwatch.GetTimestamp());
    }

    /// <summary>One observed lookup call: its span, its start and its size (default: not observed).</summary>
    private readonly struct LookupObservation(OnlineFeatureService service, Activity? activity, int entities, long started)
    {
        /// <summary>Marks the span failed; returns false, so that it can run in an exception filter.</summary>
        public bool Fail(Exception exception)
        {
            FeatureStoreTelemetry.Fail(activity, exception);
            return false;
        }

        public void Stop(FeatureRow? row)
        {
            if (service is null) return;
            activity?.SetTag("mlops.online.found", row is null ? 0 : row.Found ? 1 : 0);
            Record();
        }

        public void Stop(FeatureRow[] rows)
        {
            if (service is null) return;
            if (activity is not null)
            {
                var found = 0;
                foreach (var r in rows)
                    if (r is { Found: true }) found++;
                activity.SetTag("mlops.online.found", found);
            }

            Record();
        }

        private void Record()
        {
            var telemetry = service._telemetry;
            if (telemetry.OnlineLookupDuration.Enabled)
                telemetry.OnlineLookupDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds, service._tags);
            if (telemetry.OnlineLookupEntities.Enabled)
                telemetry.OnlineLookupEntities.Add(entities, service._tags);
            activity?.Dispose();
        }
    }

    /// <summary>A failure that may have left a reader unusable (a dropped table, a closed file): its session is not pooled again.</summary>
    private static bool IsReaderFailure(Exception e) => e is not (ValidationException or OperationCanceledException or ArgumentException);

    private static void Discard(ref Session? session)
    {
        session?.Dispose();
        session = null;
    }

    private Session Rent()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (Interlocked.Exchange(ref _spare, null) is { } spare) return spare;
        if (!_pool.TryTake(out var pooled)) return new Session(this);
        Interlocked.Decrement(ref _pooled);
        return pooled;
    }

    private void Return(Session session)
    {
        if (Interlocked.CompareExchange(ref _spare, session, null) is not null)
        {
            // ConcurrentBag.Count takes every thread's lock: count the pooled sessions here instead.
            if (Interlocked.Increment(ref _pooled) > _maxPooled)
            {
                Interlocked.Decrement(ref _pooled);
                session.Dispose();
                return;
            }

            _pool.Add(session);
        }

        // Disposed meanwhile: whatever is pooled now would never be taken again.
        if (Volatile.Read(ref _disposed) != 0) Drain();
    }

    private void Drain()
    {
        Interlocked.Exchange(ref _spare, null)?.Dispose();
        while (_pool.TryTake(out var s))
        {
            Interlocked.Decrement(ref _pooled);
            s.Dispose();
        }
    }

    private FeatureRow Lookup(IReadOnlyDictionary<string, object> keys, Session session, long now)
    {
        var values = new FeatureValue[_names.Length];
        var found = true;
        for (var s = 0; s < _sets.Length; s++)
        {
            var set = _sets[s];
            var read = session.Row[s];
            var key = KeyOf(set, keys, session.Row, session.Live, 0, -1, session.KeyParts);
            var ok = key is not null && session.Readers[s].TryRead(key, read, out var eventTime) && set.IsLive(eventTime, now);
            session.Live[s][0] = ok;
            if (ok)
            {
                foreach (var (output, column) in set.Outputs) values[output] = read[column];
            }
            else
            {
                found = false;
                foreach (var (output, column) in set.Outputs) values[output] = _fallback[output] ?? set.Nulls[column];
            }
        }

        session.ClearRowStrings(_sets);
        return new FeatureRow(_names, _index, values, found);
    }

    private void LookupChunk(IReadOnlyList<IReadOnlyDictionary<string, object>> keys, int start, int count, FeatureRow[] rows, Session session, BatchScratch batch, long now)
    {
        var results = batch.Results;
        var rowFound = batch.RowFound;
        for (var i = 0; i < count; i++)
        {
            results[i] = new FeatureValue[_names.Length];
            rowFound[i] = true;
        }

        var entityKeys = batch.Keys;
        try
        {
            for (var s = 0; s < _sets.Length; s++)
            {
                var set = _sets[s];
                var width = set.Reads.Length;
                var values = batch.Values[s];
                var live = batch.Live[s];
                var times = batch.Times;
                for (var i = 0; i < count; i++)
                {
                    var request = keys[start + i] ?? throw new ValidationException(
                        $"keys[{start + i}] is null; pass one dictionary of entity columns and values per entity (e.g. {{ [\"origin\"] = \"SFO\" }}), or leave the null entry out.");
                    entityKeys[i] = KeyOf(set, request, batch.Values, batch.Live, i, start + i, session.KeyParts);
                }

                session.Readers[s].TryReadMany(entityKeys.AsSpan(0, count), values.AsSpan(0, count * width), times.AsSpan(0, count), live.AsSpan(0, count));
                for (var i = 0; i < count; i++)
                {
                    var row = results[i]!;
                    if (live[i] && set.IsLive(times[i], now))
                    {
                        var at = i * width;
                        foreach (var (output, column) in set.Outputs) row[output] = values[at + column];
                    }
                    else
                    {
                        live[i] = false;
                        rowFound[i] = false;
                        foreach (var (output, column) in set.Outputs) row[output] = _fallback[output] ?? set.Nulls[column];
                    }
                }
            }

            for (var i = 0; i < count; i++) rows[start + i] = new FeatureRow(_names, _index, results[i]!, rowFound[i]);
        }
        finally
        {
            batch.Clear(_sets, count);
        }
    }

    /// <summary>The encoded key of a set for one row: request values, or values of an earlier set's (live) row.</summary>
    /// <param name="set">The set.</param>
    /// <param name="request">The request keys of the row.</param>
    /// <param name="setValues">The values read per set (rows of <c>Reads.Length</c> values one after the other).</param>
    /// <param name="live">Per set, whether the row was found and live.</param>
    /// <param name="row">The row within <paramref name="setValues"/> and <paramref name="live"/>.</param>
    /// <param name="index">The row's index in the request (for messages), or -1 for a single lookup.</param>
    /// <param name="scratch">Room for the encoded parts of a compound key (the session's, cleared before returning).</param>
    private string? KeyOf(SetReader set, IReadOnlyDictionary<string, object> request, FeatureValue[][] setValues, bool[][] live, int row, int index, string?[] scratch)
    {
        var parts = set.Keys;
        if (parts.Length == 1) return KeyPartOf(parts[0], request, setValues, live, row, index);
        try
        {
            for (var k = 0; k < parts.Length; k++)
            {
                // Like EntityKey.Encode: the parts' text forms joined with the separator.
                if ((scratch[k] = KeyPartOf(parts[k], request, setValues, live, row, index)) is null) return null;
            }

            return string.Join(EntityKey.Separator, scratch.AsSpan(0, parts.Length));
        }
        finally
        {
            Array.Clear(scratch, 0, parts.Length);
        }
    }

    private string? KeyPartOf(KeyPart part, IReadOnlyDictionary<string, object> request, FeatureValue[][] setValues, bool[][] live, int row, int index)
    {
        if (part.Request is { } column)
        {
            if (!request.TryGetValue(column, out var v) || v is null)
                throw new ValidationException($"The lookup{(index < 0 ? "" : $" at index {index}")} has no value for the entity column '{column}'. Pass every entity column: {string.Join(", ", _entityColumns)}.");
            return EntityKey.EncodeValue(v);
        }

        if (!live[part.FromSet][row]) return null;
        var value = setValues[part.FromSet][row * _sets[part.FromSet].Reads.Length + part.FromColumn];
        return value.IsNull ? null : Encode(value);
    }

    /// <summary>A feature value encoded as <see cref="EntityKey.EncodeValue"/> encodes its boxed form, without boxing.</summary>
    private static string Encode(in FeatureValue value) => value.Type switch
    {
        FeatureType.String => value.Text ?? string.Empty,
        FeatureType.Double => value.Number.ToString(CultureInfo.InvariantCulture),
        FeatureType.Boolean => value.Integer != 0 ? "true" : "false",
        _ => value.Integer.ToString(CultureInfo.InvariantCulture), // Int64, and Timestamp as microseconds
    };

    /// <inheritdoc/>
    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return ValueTask.CompletedTask;
        Drain();
        return ValueTask.CompletedTask;
    }

    /// <summary>Where one part of a set's key comes from: a request column, or a column of an earlier set's row.</summary>
    private readonly record struct KeyPart(string? Request, int FromSet, int FromColumn);

    private sealed class SetReader(SetPlan plan, OnlineTable table, string[] reads, (int Output, int Read)[] outputs, FeatureValue[] nulls, KeyPart[] keys, long ttlMicroseconds)
    {
        public SetPlan Plan { get; } = plan;

        public OnlineTable Table { get; } = table;

        public string[] Reads { get; } = reads;

        public (int Output, int Column)[] Outputs { get; } = outputs;

        /// <summary>A null of each read column's type.</summary>
        public FeatureValue[] Nulls { get; } = nulls;

        public KeyPart[] Keys { get; } = keys;

        /// <summary>Whether read values can hold strings (then pooled scratch is cleared after use).</summary>
        public bool HasStrings { get; } = nulls.Any(n => n.Type == FeatureType.String);

        /// <summary>Whether a row with this event time is within the set's online TTL at <paramref name="now"/>.</summary>
        public bool IsLive(long eventTime, long now) => ttlMicroseconds < 0 || now - eventTime <= ttlMicroseconds;
    }

    /// <summary>What one lookup at a time uses: a reader per set and scratch. Pooled; never used by two threads at once.</summary>
    private sealed class Session : IDisposable
    {
        public Session(OnlineFeatureService service)
        {
            var sets = service._sets;
            Readers = new IOnlineReader[sets.Length];
            Row = new FeatureValue[sets.Length][];
            Live = new bool[sets.Length][];
            KeyParts = new string?[sets.Max(s => s.Keys.Length)];
            try
            {
                for (var s = 0; s < sets.Length; s++)
                {
                    Readers[s] = service._store.OpenReader(sets[s].Table, sets[s].Reads);
                    Row[s] = new FeatureValue[sets[s].Reads.Length];
                    Live[s] = new bool[1];
                }
            }
            catch
            {
                Dispose();
                throw;
            }
        }

        public IOnlineReader[] Readers { get; }

        /// <summary>Per set, the values of the single-row lookup.</summary>
        public FeatureValue[][] Row { get; }

        /// <summary>Per set, whether the single-row lookup found a live row.</summary>
        public bool[][] Live { get; }

        /// <summary>The encoded parts of a compound key, while it is joined.</summary>
        public string?[] KeyParts { get; }

        /// <summary>Scratch of <see cref="GetManyAsync"/>, created on its first use.</summary>
        public BatchScratch? Batch { get; set; }

        public void ClearRowStrings(SetReader[] sets)
        {
            for (var s = 0; s < sets.Length; s++)
                if (sets[s].HasStrings) Array.Clear(Row[s]);
        }

        public void Dispose()
        {
            foreach (var r in Readers) r?.Dispose();
        }
    }

    /// <summary>Scratch of one chunk of a batched lookup.</summary>
    private sealed class BatchScratch
    {
        public BatchScratch(SetReader[] sets)
        {
            Values = sets.Select(s => new FeatureValue[ChunkRows * s.Reads.Length]).ToArray();
            Live = sets.Select(_ => new bool[ChunkRows]).ToArray();
        }

        /// <summary>Per set, the rows read (<c>Reads.Length</c> values each, one after the other).</summary>
        public FeatureValue[][] Values { get; }

        /// <summary>Per set, whether each row was found and live.</summary>
        public bool[][] Live { get; }

        public long[] Times { get; } = new long[ChunkRows];

        public string?[] Keys { get; } = new string?[ChunkRows];

        public FeatureValue[]?[] Results { get; } = new FeatureValue[]?[ChunkRows];

        public bool[] RowFound { get; } = new bool[ChunkRows];

        /// <summary>Drops the references a chunk left (keys, strings, result rows), so the pool keeps none alive.</summary>
        public void Clear(SetReader[] sets, int count)
        {
            Array.Clear(Keys, 0, count);
            Array.Clear(Results, 0, count);
            for (var s = 0; s < sets.Length; s++)
                if (sets[s].HasStrings) Array.Clear(Values[s], 0, count * sets[s].Reads.Length);
        }
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
