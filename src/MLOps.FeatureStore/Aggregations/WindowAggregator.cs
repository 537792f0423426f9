using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace MLOps.FeatureStore.Aggregations;

/// <summary>
/// The sliding-window aggregation engine: computes every output of a set of <see cref="AggregationSpec"/>s for every
/// row of a columnar chunk, keeping per entity the events still inside the largest window so that batch and real-time
/// processing agree.
/// </summary>
/// <remarks>
/// <para><b>Window.</b> The value emitted for an event at time <c>t</c> aggregates the entity's events with a timestamp
/// <c>ts</c> such that <c>t - window &lt; ts &lt;= t</c>: the boundary <c>t - window</c> is excluded and every event at
/// <c>t</c> is included, even one that comes later in the input, so the events of one entity with equal timestamps get
/// the same values. Timestamps are microseconds since the Unix epoch (UTC); windows are exact lengths
/// (<see cref="FeatureWindow.Microseconds"/>).</para>
/// <para><b>Nulls.</b> <see cref="double.NaN"/> inputs are nulls and every operation ignores them (count is the number
/// of non-null values). An empty window gives count = sum = sqr = 0 and null (NaN) for the other operations; stdvar and
/// stddev are sample statistics (n - 1) and null below two values. <c>first</c> and <c>last</c> are the values of the
/// earliest and latest non-null events in the window, by timestamp, ties in input order (events retained from earlier
/// chunks come before the chunk's events). Infinite values propagate (a sum with +inf and -inf is NaN).</para>
/// <para><b>Chunks.</b> Within a chunk the order of the rows does not matter (each entity's rows are sorted by timestamp,
/// stably). Across chunks, as long as each entity's events arrive in non-decreasing timestamp order, processing a source
/// in several chunks, or pushing single events later, gives the same values as one chunk - with one caveat inherent to
/// streaming: emitted values are never revised, so rows at time <c>t</c> do not see rows of the same entity at the same
/// <c>t</c> that arrive in a later chunk. The values are bit for bit the same whenever the running sums are exact (integer
/// or short fixed-point values); otherwise stdvar and stddev may rarely differ in the last bit, because the rounding of
/// the compensated running sum of squares depends on where its history started. An event older than the entity's retained events ("late") is aggregated with
/// the events still retained (those older than the retention have been dropped), and the values already emitted for
/// later events are not revised.</para>
/// <para><b>State.</b> After a chunk, each entity keeps only the events with
/// <c>ts &gt; (its latest timestamp) - (the largest window)</c>, so memory is bounded by entities times events in the
/// largest window; <see cref="SaveState"/>, <see cref="LoadState"/> and <see cref="Forget"/> move it to and from an
/// online store. Entities are processed one at a time with one left pointer per window, compensated (double-double)
/// running sums and monotonic deques for min and max, so a chunk costs O(rows + retained events). The running sums are
/// rebuilt from the window after as many removals as the window holds, and when the window's magnitude drops far below
/// that of the values since the last rebuild, so they do not drift; the variance is formed in double-double from them and
/// matches a two-pass computation to well under 1e-9 relative unless the mean dwarfs the spread by many orders of magnitude.</para>
/// <para>Not thread-safe: use one instance per writer.</para>
/// </remarks>
internal sealed partial class WindowAggregator
{
    private static readonly int OpCount = AggregationSpec.AllOps.Count;

    // a window whose magnitude falls below this fraction of the largest value since the last rebuild is rebuilt
    private const double MagnitudeDrop = 1.0 / 65536;
    private const int CountIndex = 0, SumIndex = 1, SqrIndex = 2, MinIndex = 3, MaxIndex = 4, FirstIndex = 5, LastIndex = 6,
        AvgIndex = 7, StdVarIndex = 8, StdDevIndex = 9;

    private readonly string[] _outputNames;
    private readonly string[] _inputColumns;
    private readonly WindowPlan[][] _plans;
    private readonly long _retention;
    private readonly Dictionary<string, EntityState> _entities = new(StringComparer.Ordinal);
    private readonly HashSet<string> _touched = new(StringComparer.Ordinal);

    // scratch buffers, reused from chunk to chunk
    private readonly List<EntityState> _slots = [];
    private readonly double[][] _in;
    private readonly double[][] _out;
    private readonly double[] _values;
    private readonly double[][] _seqValues;
    private int[] _rowSlot = [];
    private int[] _order = [];
    private int[] _slotStart = [];
    private long[] _chunkTs = [];
    private long[] _seqTs = [];
    private int[] _seqRow = [];
    private int[] _minQueue = [];
    private int[] _maxQueue = [];

    /// <summary>Creates the aggregator for a feature set's aggregations.</summary>
    /// <param name="specs">The aggregations; outputs come in spec order, then <see cref="AggregationSpec.Outputs"/> order.</param>
    /// <exception cref="ArgumentException">A spec has no column, or two specs produce the same output name.</exception>
    public WindowAggregator(IReadOnlyList<AggregationSpec> specs)
    {
        ArgumentNullException.ThrowIfNull(specs);
        var names = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var columns = new List<string>();
        var windows = new List<List<WindowPlan>>();
        var targets = new List<List<List<Target>>>();
        long retention = 0;
        foreach (var spec in specs)
        {
            ArgumentNullException.ThrowIfNull(spec);
            if (string.IsNullOrEmpty(spec.Column)) throw new ArgumentException("An aggregation has no source column.", nameof(specs));
            var column = columns.IndexOf(spec.Column);
            if (column < 0)
            {
                column = columns.Count;
                columns.Add(spec.Column);
                windows.Add([]);
                targets.Add([]);
            }
            foreach (var (name, op, window) in spec.Outputs())
            {
                if (!seen.Add(name))
                    throw new ArgumentException($"The aggregation output '{name}' is defined twice: list each column, operation and window once.", nameof(specs));
                var micros = window.Microseconds;
                retention = Math.Max(retention, micros);
                var plans = windows[column];
                var w = plans.FindIndex(p => p.Micros == micros);
                if (w < 0)
                {
                    w = plans.Count;
                    plans.Add(new WindowPlan(micros));
                    targets[column].Add([]);
                }
                plans[w].Ops |= op;
                targets[column][w].Add(new Target(names.Count, OpIndex(op)));
                names.Add(name);
            }
        }
        _outputNames = [.. names];
        _inputColumns = [.. columns];
        _plans = new WindowPlan[columns.Count][];
        for (var c = 0; c < columns.Count; c++)
        {
            for (var w = 0; w < windows[c].Count; w++) windows[c][w].Targets = [.. targets[c][w]];
            _plans[c] = [.. windows[c]];
        }
        _retention = retention;
        _in = new double[columns.Count][];
        _out = new double[names.Count][];
        _values = new double[OpCount];
        _seqValues = new double[columns.Count][];
        for (var c = 0; c < columns.Count; c++) _seqValues[c] = [];
    }

    /// <summary>Every output feature, in spec order, then <see cref="AggregationSpec.Outputs"/> order.</summary>
    public IReadOnlyList<string> OutputNames => _outputNames;

    /// <summary>The distinct source columns, in order of first use; <see cref="Process"/> takes one input array per column.</summary>
    public IReadOnlyList<string> InputColumns => _inputColumns;

    /// <summary>The largest window in microseconds: how far back the retained state of an entity reaches.</summary>
    public long RetentionMicroseconds => _retention;

    /// <summary>The entities processed since the last <see cref="ClearTouched"/> (whose state may need saving).</summary>
    public IReadOnlyCollection<string> TouchedEntities => _touched;

    /// <summary>Forgets the touched entities (for example after saving their state).</summary>
    public void ClearTouched() => _touched.Clear();

    /// <summary>Whether the entity has state in memory (after processing or loading it, until <see cref="Forget"/>).</summary>
    /// <param name="entityKey">The encoded entity key.</param>
    /// <returns>Whether state is in memory, possibly empty.</returns>
    public bool HasState(string entityKey) => _entities.ContainsKey(entityKey);

    /// <summary>Drops the entity's in-memory state (for example once saved, to bound memory); it stays touched.</summary>
    /// <param name="entityKey">The encoded entity key.</param>
    public void Forget(string entityKey) => _entities.Remove(entityKey);

    /// <summary>The number of events retained for the entity (0 without state).</summary>
    /// <param name="entityKey">The encoded entity key.</param>
    /// <returns>The number of events.</returns>
    public int RetainedEventCount(string entityKey) => _entities.TryGetValue(entityKey, out var st) ? st.Count : 0;

    /// <summary>The number of entities with state in memory.</summary>
    public int EntityCount => _entities.Count;

    /// <summary>
    /// Aggregates a chunk of rows: for each row, every output over the row's entity's events in each window, taking into
    /// account the retained events of earlier chunks; then updates the retained events.
    /// </summary>
    /// <param name="entityKeys">The encoded entity key of each row (instances may be shared, which is faster).</param>
    /// <param name="timestamps">The event time of each row, in microseconds since the Unix epoch (UTC).</param>
    /// <param name="inputs">One array per <see cref="InputColumns"/> entry, one value per row; NaN is null.</param>
    /// <param name="outputs">One array per <see cref="OutputNames"/> entry, at least one value per row, filled in row order; NaN is null.</param>
    /// <exception cref="ArgumentException">The arrays do not match the columns or the rows, or a key is null.</exception>
    public void Process(IReadOnlyList<string> entityKeys, ReadOnlySpan<long> timestamps, IReadOnlyList<double[]> inputs, IReadOnlyList<double[]> outputs)
    {
        ArgumentNullException.ThrowIfNull(entityKeys);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(outputs);
        var rows = timestamps.Length;
        if (entityKeys.Count != rows)
            throw new ArgumentException($"There are {entityKeys.Count} entity keys for {rows} timestamps: give one key per row.", nameof(entityKeys));
        if (inputs.Count != _inputColumns.Length)
            throw new ArgumentException($"There are {inputs.Count} input arrays for {_inputColumns.Length} input columns ({string.Join(", ", _inputColumns)}).", nameof(inputs));
        if (outputs.Count != _outputNames.Length)
            throw new ArgumentException($"There are {outputs.Count} output arrays for {_outputNames.Length} outputs.", nameof(outputs));
        for (var c = 0; c < _in.Length; c++)
        {
            var a = inputs[c] ?? throw new ArgumentException($"The input array of column '{_inputColumns[c]}' is null.", nameof(inputs));
            if (a.Length != rows)
                throw new ArgumentException($"The input array of column '{_inputColumns[c]}' has {a.Length} values for {rows} rows.", nameof(inputs));
            _in[c] = a;
        }
        for (var o = 0; o < _out.Length; o++)
        {
            var a = outputs[o] ?? throw new ArgumentException($"The output array of '{_outputNames[o]}' is null.", nameof(outputs));
            if (a.Length < rows)
                throw new ArgumentException($"The output array of '{_outputNames[o]}' has {a.Length} values for {rows} rows.", nameof(outputs));
            _out[o] = a;
        }
        try
        {
            if (rows == 0) return;
            AssignSlots(entityKeys, rows);
            GroupRows(rows);
            for (var s = 0; s < _slots.Count; s++)
            {
                var start = _slotStart[s];
                var count = _slotStart[s + 1] - start;
                var rowSpan = _order.AsSpan(start, count);
                var ts = _chunkTs.AsSpan(0, count);
                var sorted = true;
                var previous = long.MinValue;
                for (var k = 0; k < count; k++)
                {
                    var t = timestamps[rowSpan[k]];
                    ts[k] = t;
                    if (t < previous) sorted = false;
                    previous = t;
                }
                if (!sorted) SortStable(ts, rowSpan);
                ProcessEntity(_slots[s], ts, rowSpan);
            }
        }
        finally
        {
            foreach (var st in _slots) st.Slot = -1;
            _slots.Clear();
            System.Array.Clear(_in);
            System.Array.Clear(_out);
        }
    }

    private void AssignSlots(IReadOnlyList<string> entityKeys, int rows)
    {
        Grow(ref _rowSlot, rows);
        var rowSlot = _rowSlot;
        string? lastKey = null;
        var lastSlot = -1;
        for (var r = 0; r < rows; r++)
        {
            var key = entityKeys[r];
            if (!ReferenceEquals(key, lastKey))
            {
                if (key is null) throw new ArgumentException($"The entity key of row {r} is null.", nameof(entityKeys));
                ref var st = ref CollectionsMarshal.GetValueRefOrAddDefault(_entities, key, out _);
                st ??= new EntityState(key, _inputColumns.Length);
                if (st.Slot < 0)
                {
                    st.Slot = _slots.Count;
                    _slots.Add(st);
                    _touched.Add(st.Key);
                }
                lastKey = key;
                lastSlot = st.Slot;
            }
            rowSlot[r] = lastSlot;
        }
    }

    private void GroupRows(int rows)
    {
        var slots = _slots.Count;
        Grow(ref _slotStart, slots + 1);
        Grow(ref _order, rows);
        var start = _slotStart.AsSpan(0, slots + 1);
        start.Clear();
        var rowSlot = _rowSlot;
        for (var r = 0; r < rows; r++) start[rowSlot[r] + 1]++;
        var max = 0;
        for (var s = 0; s < slots; s++)
        {
            max = Math.Max(max, start[s + 1]);
            start[s + 1] += start[s];
        }
        Grow(ref _chunkTs, max);
        // place rows with a moving cursor per slot (start[s] advances), then shift the starts back
        var order = _order;
        for (var r = 0; r < rows; r++) order[start[rowSlot[r]]++] = r;
        for (var s = slots; s > 0; s--) start[s] = start[s - 1];
        start[0] = 0;
    }

    // sorts by timestamp, keeping rows with equal timestamps in input (ascending row) order
    private static void SortStable(Span<long> ts, Span<int> rows)
    {
        ts.Sort(rows);
        var i = 0;
        while (i < ts.Length)
        {
            var j = i + 1;
            while (j < ts.Length && ts[j] == ts[i]) j++;
            if (j - i > 1) rows[i..j].Sort();
            i = j;
        }
    }

    private void ProcessEntity(EntityState st, ReadOnlySpan<long> chunkTs, ReadOnlySpan<int> chunkRows)
    {
        var retained = st.Count;
        var n = retained + chunkTs.Length;
        EnsureSequence(n);
        var seqTs = _seqTs;
        var seqRow = _seqRow;
        if (retained == 0 || chunkTs[0] >= st.Ts[retained - 1])
        {
            st.Ts.AsSpan(0, retained).CopyTo(seqTs);
            seqRow.AsSpan(0, retained).Fill(-1);
            chunkTs.CopyTo(seqTs.AsSpan(retained));
            chunkRows.CopyTo(seqRow.AsSpan(retained));
            for (var c = 0; c < _seqValues.Length; c++)
            {
                var seq = _seqValues[c];
                st.Values[c].AsSpan(0, retained).CopyTo(seq);
                var input = _in[c];
                for (var k = 0; k < chunkRows.Length; k++) seq[retained + k] = input[chunkRows[k]];
            }
        }
        else
        {
            // a late event: merge, retained events first on equal timestamps
            int a = 0, b = 0, i = 0;
            while (i < n)
            {
                if (b == chunkTs.Length || (a < retained && st.Ts[a] <= chunkTs[b]))
                {
                    seqTs[i] = st.Ts[a];
                    seqRow[i] = -1;
                    for (var c = 0; c < _seqValues.Length; c++) _seqValues[c][i] = st.Values[c][a];
                    a++;
                }
                else
                {
                    var row = chunkRows[b];
                    seqTs[i] = chunkTs[b];
                    seqRow[i] = row;
                    for (var c = 0; c < _seqValues.Length; c++) _seqValues[c][i] = _in[c][row];
                    b++;
                }
                i++;
            }
        }

        // a window only needs the retained events that some row of the chunk can see: those after the chunk's earliest
        // time minus the window (the retention is the largest window, so a shorter one skips most of them)
        var earliest = chunkTs[0];
        for (var c = 0; c < _plans.Length; c++)
            foreach (var plan in _plans[c])
            {
                var start = retained == 0 || earliest < long.MinValue + plan.Micros ? 0 : UpperBound(seqTs.AsSpan(0, n), earliest - plan.Micros);
                Slide(plan, _seqValues[c], start, n);
            }

        // retain the events with ts > latest - largest window
        var latest = seqTs[n - 1];
        var keepFrom = _retention == 0 ? n
            : latest < long.MinValue + _retention ? 0
            : UpperBound(seqTs.AsSpan(0, n), latest - _retention);
        var keep = n - keepFrom;
        st.Resize(keep);
        seqTs.AsSpan(keepFrom, keep).CopyTo(st.Ts);
        for (var c = 0; c < _seqValues.Length; c++) _seqValues[c].AsSpan(keepFrom, keep).CopyTo(st.Values[c]);
        st.Count = keep;
    }

    // the first index whose timestamp is greater than the value
    private static int UpperBound(ReadOnlySpan<long> ts, long value)
    {
        int lo = 0, hi = ts.Length;
        while (lo < hi)
        {
            var mid = (int)((uint)(lo + hi) >> 1);
            if (ts[mid] <= value) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }

    private void EnsureSequence(int n)
    {
        if (_seqTs.Length >= n) return;
        var size = Math.Max(n, _seqTs.Length * 2);
        _seqTs = new long[size];
        _seqRow = new int[size];
        _minQueue = new int[size];
        _maxQueue = new int[size];
        for (var c = 0; c < _seqValues.Length; c++) _seqValues[c] = new double[size];
    }

    private static void Grow<T>(ref T[] array, int size)
    {
        if (array.Length < size) array = new T[Math.Max(size, array.Length * 2)];
    }

    // One pass of one window over one entity's sorted events: a left pointer, compensated running sums and monotonic
    // deques; outputs are computed once per group of equal timestamps that holds rows of the chunk. Events before start
    // are outside every window of the chunk's rows and are skipped.
    private void Slide(WindowPlan plan, double[] v, int start, int n)
    {
        var ts = _seqTs;
        var rows = _seqRow;
        var minQ = _minQueue;
        var maxQ = _maxQueue;
        var width = plan.Micros;
        var ops = plan.Ops;
        var needSum = (ops & (AggregationOp.Sum | AggregationOp.Avg | AggregationOp.StdVar | AggregationOp.StdDev)) != 0;
        var needSqr = (ops & (AggregationOp.Sqr | AggregationOp.StdVar | AggregationOp.StdDev)) != 0;
        var needMin = (ops & AggregationOp.Min) != 0;
        var needMax = (ops & AggregationOp.Max) != 0;
        var needSums = needSum || needSqr;
        int left = start, count = 0, i = start, first = start, last = -1;
        int minHead = 0, minTail = 0, maxHead = 0, maxTail = 0;
        // the running sums are double-double (hi + lo); infinities are counted apart so that they do not poison them
        double sumHi = 0, sumLo = 0, sqrHi = 0, sqrLo = 0;
        int infinite = 0, positive = 0;
        // drift control: the sums are rebuilt from the window after as many removals as the window holds, and when
        // the window's magnitude (a plain running sum of |x|) falls far below the largest |x| added since the rebuild
        var removed = 0;
        double magnitude = 0, peak = 0;
        while (i < n)
        {
            var t = ts[i];
            var emit = false;
            do
            {
                var x = v[i];
                if (!double.IsNaN(x))
                {
                    count++;
                    last = i;
                    if (!double.IsFinite(x))
                    {
                        infinite++;
                        if (x > 0) positive++;
                    }
                    else if (needSums)
                    {
                        var abs = Math.Abs(x);
                        magnitude += abs;
                        if (abs > peak) peak = abs;
                        if (needSum) TwoSum(ref sumHi, ref sumLo, x);
                        if (needSqr)
                        {
                            var p = x * x;
                            TwoSum(ref sqrHi, ref sqrLo, p);
                            sqrLo += Math.FusedMultiplyAdd(x, x, -p);
                        }
                    }
                    if (needMin)
                    {
                        while (minTail > minHead && v[minQ[minTail - 1]] >= x) minTail--;
                        minQ[minTail++] = i;
                    }
                    if (needMax)
                    {
                        while (maxTail > maxHead && v[maxQ[maxTail - 1]] <= x) maxTail--;
                        maxQ[maxTail++] = i;
                    }
                }
                emit |= rows[i] >= 0;
                i++;
            }
            while (i < n && ts[i] == t);

            if (t >= long.MinValue + width)
            {
                var bound = t - width;
                // ts[i - 1] == t > bound, so the left pointer stops inside the group at the latest
                var evicted = false;
                while (ts[left] <= bound)
                {
                    var x = v[left];
                    if (!double.IsNaN(x))
                    {
                        count--;
                        evicted = true;
                        if (!double.IsFinite(x))
                        {
                            infinite--;
                            if (x > 0) positive--;
                        }
                        else if (needSums)
                        {
                            removed++;
                            magnitude -= Math.Abs(x);
                            if (needSum) TwoSum(ref sumHi, ref sumLo, -x);
                            if (needSqr)
                            {
                                var p = x * x;
                                TwoSum(ref sqrHi, ref sqrLo, -p);
                                sqrLo -= Math.FusedMultiplyAdd(x, x, -p);
                            }
                        }
                        if (needMin && minQ[minHead] == left) minHead++;
                        if (needMax && maxQ[maxHead] == left) maxHead++;
                    }
                    left++;
                }
                if (evicted && needSums && (count == 0 || removed > i - left + 32 || magnitude < peak * MagnitudeDrop))
                {
                    // rebuild from the window (amortized O(1) per event): exact zero for an empty window
                    sumHi = sumLo = sqrHi = sqrLo = magnitude = peak = 0;
                    removed = 0;
                    for (var k = left; k < i; k++)
                    {
                        var x = v[k];
                        if (!double.IsFinite(x)) continue;
                        var abs = Math.Abs(x);
                        magnitude += abs;
                        if (abs > peak) peak = abs;
                        if (needSum) TwoSum(ref sumHi, ref sumLo, x);
                        if (needSqr)
                        {
                            var p = x * x;
                            TwoSum(ref sqrHi, ref sqrLo, p);
                            sqrLo += Math.FusedMultiplyAdd(x, x, -p);
                        }
                    }
                }
            }
            if (!emit) continue;

            var values = _values;
            values[CountIndex] = count;
            if (count == 0)
            {
                values[SumIndex] = 0;
                values[SqrIndex] = 0;
                values[MinIndex] = values[MaxIndex] = values[FirstIndex] = values[LastIndex] = double.NaN;
                values[AvgIndex] = values[StdVarIndex] = values[StdDevIndex] = double.NaN;
            }
            else
            {
                if (needSum)
                {
                    var sum = infinite == 0 ? sumHi + sumLo : positive == 0 ? double.NegativeInfinity : positive == infinite ? double.PositiveInfinity : double.NaN;
                    values[SumIndex] = sum;
                    values[AvgIndex] = infinite == 0 ? Divide(sumHi, sumLo, count) : sum;
                }
                if (needSqr) values[SqrIndex] = infinite == 0 ? sqrHi + sqrLo : double.PositiveInfinity;
                if (needMin) values[MinIndex] = v[minQ[minHead]];
                if (needMax) values[MaxIndex] = v[maxQ[maxHead]];
                if ((ops & AggregationOp.First) != 0)
                {
                    if (first < left) first = left;
                    while (double.IsNaN(v[first])) first++;
                    values[FirstIndex] = v[first];
                }
                values[LastIndex] = v[last];
                if ((ops & (AggregationOp.StdVar | AggregationOp.StdDev)) != 0)
                {
                    var variance = count < 2 ? double.NaN : infinite == 0 ? Variance(sumHi, sumLo, sqrHi, sqrLo, count) : double.NaN;
                    values[StdVarIndex] = variance;
                    values[StdDevIndex] = Math.Sqrt(variance);
                }
            }

            var targets = plan.Targets;
            var outputs = _out;
            for (var j = i - 1; j >= 0 && ts[j] == t; j--)
            {
                var row = rows[j];
                if (row < 0) continue;
                foreach (var target in targets) outputs[target.Output][row] = values[target.Op];
            }
        }
    }

    // hi + lo += x, exactly up to the rounding of lo (Knuth's TwoSum)
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void TwoSum(ref double hi, ref double lo, double x)
    {
        var s = hi + x;
        var b = s - hi;
        lo += (hi - (s - b)) + (x - b);
        hi = s;
    }

    // the canonical double-double of hi + lo (the rounded sum and its error), so that results depend on the value of
    // a running sum and not on how the history split it between hi and lo
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Normalize(ref double hi, ref double lo)
    {
        var s = hi + lo;
        var b = s - hi;
        lo = (hi - (s - b)) + (lo - b);
        hi = s;
    }

    // (hi + lo) / n in double-double, rounded once
    private static double Divide(double hi, double lo, int n)
    {
        Normalize(ref hi, ref lo);
        var q = hi / n;
        var r = Math.FusedMultiplyAdd(-q, n, hi); // exact remainder
        return q + (r + lo) / n;
    }

    // the sample variance (Q - S^2 / n) / (n - 1) from double-double sums: S^2 / n is formed with ~100 bits, so the
    // cancellation against Q loses only what a two-pass computation loses
    private static double Variance(double sumHi, double sumLo, double sqrHi, double sqrLo, int n)
    {
        Normalize(ref sumHi, ref sumLo);
        Normalize(ref sqrHi, ref sqrLo);
        var meanHi = sumHi / n;
        var meanLo = (Math.FusedMultiplyAdd(-meanHi, n, sumHi) + sumLo) / n;
        var pHi = sumHi * meanHi;
        var pLo = Math.FusedMultiplyAdd(sumHi, meanHi, -pHi) + (sumHi * meanLo + sumLo * meanHi);
        var dHi = sqrHi - pHi;
        var b = dHi - sqrHi;
        var dLo = (sqrHi - (dHi - b)) + (-pHi - b);
        var d = dHi + (dLo + sqrLo - pLo);
        return d > 0 ? d / (n - 1) : 0;
    }

    private static int OpIndex(AggregationOp op)
    {
        for (var k = 0; k < AggregationSpec.AllOps.Count; k++)
            if (AggregationSpec.AllOps[k].Op == op) return k;
        throw new ArgumentOutOfRangeException(nameof(op), op, "Not a single aggregation operation.");
    }

    private readonly record struct Target(int Output, int Op);

    private sealed class WindowPlan(long micros)
    {
        public long Micros { get; } = micros;

        public AggregationOp Ops { get; set; }

        public Target[] Targets { get; set; } = [];
    }

    // the retained events of one entity, sorted by timestamp (ties in arrival order)
    private sealed class EntityState(string key, int columns)
    {
        public string Key { get; } = key;

        public long[] Ts { get; private set; } = [];

        public double[][] Values { get; } = CreateValues(columns);

        public int Count { get; set; }

        // the entity's index in the chunk being processed, -1 outside Process
        public int Slot { get; set; } = -1;

        // makes room for exactly-or-more events, shrinking oversized buffers; the content is not kept
        public void Resize(int count)
        {
            var capacity = Ts.Length;
            if (capacity >= count && (capacity <= 16 || capacity <= count * 4)) return;
            var size = count == 0 ? 0 : Math.Max(4, count + count / 2);
            Ts = new long[size];
            for (var c = 0; c < Values.Length; c++) Values[c] = new double[size];
        }

        private static double[][] CreateValues(int columns)
        {
            var values = new double[columns][];
            for (var c = 0; c < columns; c++) values[c] = [];
            return values;
        }
    }
}
