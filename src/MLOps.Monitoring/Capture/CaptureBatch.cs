using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using Apache.Arrow;
using Apache.Arrow.Types;
using MLOps.Serving.Hosting;
using MLOps.Serving.Protocol;
using Array = System.Array;

namespace MLOps.Monitoring.Capture;

/// <summary>
/// The records the capture writer has read and not stored yet, already in columns: one <see cref="CaptureBatch"/> per endpoint,
/// UTC hour and column set. A record is turned into columns as soon as the writer reads it, so the request and response it
/// holds die young instead of waiting for the batch (and being promoted by the garbage collector). The batches' buffers are
/// reused from one write to the next (a batch left empty by a write cycle is dropped). Writer thread only.
/// </summary>
internal sealed class PendingCapture(Func<EndpointSlot, IReadOnlyList<string>> inputNames)
{
    private readonly List<CaptureBatch> _batches = [];
    private readonly Dictionary<EndpointSlot, IReadOnlyList<string>> _names = [];
    private CaptureBatch? _last;

    /// <summary>The records added since the last <see cref="Clear"/>.</summary>
    public int Count { get; private set; }

    /// <summary>The batches, some possibly empty (skip those whose <see cref="CaptureBatch.Records"/> is 0).</summary>
    public IReadOnlyList<CaptureBatch> Batches => _batches;

    /// <summary>Adds a record to the batch of its endpoint, hour and columns (a new one when none matches).</summary>
    public void Add(EndpointSlot slot, InferenceRecord record)
    {
        Count++;
        long hour = CaptureBatch.HourOf(record.Started);
        if (_last is { } last && last.Takes(slot, hour) && last.TryAppendTensors(record)) return;
        foreach (var batch in _batches)
        {
            if (batch.Takes(slot, hour) && batch.TryAppendTensors(record))
            {
                _last = batch;
                return;
            }
        }
        if (!_names.TryGetValue(slot, out var names)) _names[slot] = names = inputNames(slot);
        var captured = CapturedRecord.From(record, names);
        foreach (var batch in _batches)
        {
            if (batch.Takes(slot, hour) && batch.Matches(captured))
            {
                batch.Append(record, captured);
                _last = batch;
                return;
            }
        }
        var created = new CaptureBatch(slot, hour, captured);
        created.Append(record, captured);
        _batches.Add(created);
        _last = created;
    }

    /// <summary>Empties the batches after they were stored (or counted as lost), keeping the buffers of those that had rows.</summary>
    public void Clear()
    {
        _batches.RemoveAll(b => b.Records == 0);
        foreach (var batch in _batches) batch.Reset();
        _names.Clear();
        _last = null;
        Count = 0;
    }
}

/// <summary>
/// The pending rows of one endpoint, UTC hour and column set, in growable typed columns: the request columns of
/// <see cref="CaptureColumns"/>, then one column per feature and output. A tensor request whose tensors each hold one value per
/// row and match the columns is copied straight from the tensors (<see cref="TryAppendTensors"/>); anything else goes through
/// <see cref="CapturedRecord"/>. <see cref="Build"/> orders the rows by time (stable: a request's rows stay together).
/// </summary>
internal sealed class CaptureBatch
{
    private readonly Column[] _columns;
    private string[] _ids = new string[64];
    private int[] _rows = new int[64];
    private long[] _ticks = new long[64];
    private double[] _latency = new double[64];
    private int[] _status = new int[64];
    private string?[] _errors = new string?[64];
    private long _firstTicks = long.MaxValue;

    public CaptureBatch(EndpointSlot slot, long hour, CapturedRecord first)
    {
        Slot = slot;
        Hour = hour;
        _columns = [.. first.Columns.Select(Column.For)];
    }

    /// <summary>The endpoint.</summary>
    public EndpointSlot Slot { get; }

    /// <summary>The UTC hour of the rows, in ticks (an empty batch takes any hour).</summary>
    public long Hour { get; private set; }

    /// <summary>The records appended.</summary>
    public int Records { get; private set; }

    /// <summary>The rows appended.</summary>
    public int Length { get; private set; }

    /// <summary>The earliest start time of the records.</summary>
    public DateTimeOffset First => new(_firstTicks, TimeSpan.Zero);

    /// <summary>The start of the UTC hour of a time, in ticks.</summary>
    public static long HourOf(DateTimeOffset time) => time.UtcTicks - time.UtcTicks % TimeSpan.TicksPerHour;

    /// <summary>Whether a record of this endpoint and hour may go here: an empty batch (reused after a write) takes any hour.</summary>
    public bool Takes(EndpointSlot slot, long hour)
    {
        if (slot != Slot) return false;
        if (Length == 0 && Records == 0) Hour = hour;
        return hour == Hour;
    }

    /// <summary>Empties the batch, keeping its buffers.</summary>
    public void Reset()
    {
        Records = 0;
        Length = 0;
        _firstTicks = long.MaxValue;
        Array.Clear(_ids);
        Array.Clear(_errors);
        foreach (var column in _columns) column.Reset();
    }

    /// <summary>Whether a record turned into columns has exactly this batch's column names and types.</summary>
    public bool Matches(CapturedRecord captured)
    {
        if (captured.Columns.Count != _columns.Length) return false;
        for (int c = 0; c < _columns.Length; c++)
        {
            var column = captured.Columns[c];
            if (!string.Equals(column.Name, _columns[c].Name, StringComparison.Ordinal) || Column.KindOf(column.Values) != _columns[c].Kind) return false;
        }
        return true;
    }

    /// <summary>Appends a record turned into columns (<see cref="Matches"/> must be true).</summary>
    public void Append(InferenceRecord record, CapturedRecord captured)
    {
        AppendHeader(record, captured.Rows);
        for (int c = 0; c < _columns.Length; c++)
            _columns[c].Append(captured.Columns[c].Values);
    }

    /// <summary>Appends a tensor request straight from its tensors when every input and output tensor is one of this batch's
    /// columns, in order, with one value per row; otherwise appends nothing and returns false.</summary>
    public bool TryAppendTensors(InferenceRecord record)
    {
        if (record.Request is not { Rows: null } request || request.Inputs.Count == 0) return false;
        var inputs = request.Inputs;
        var outputs = record.Response?.Outputs;
        int outputCount = outputs?.Count ?? 0;
        if (inputs.Count + outputCount != _columns.Length) return false;
        int rows = CapturedRecord.RowCount(inputs[0]);
        for (int i = 0; i < inputs.Count; i++)
            if (!_columns[i].Accepts(inputs[i], rows, output: false)) return false;
        for (int o = 0; o < outputCount; o++)
            if (!_columns[inputs.Count + o].Accepts(outputs![o], rows, output: true)) return false;
        AppendHeader(record, rows);
        for (int i = 0; i < inputs.Count; i++)
            _columns[i].Append(inputs[i].Data);
        for (int o = 0; o < outputCount; o++)
            _columns[inputs.Count + o].Append(outputs![o].Data);
        return true;
    }

    private void AppendHeader(InferenceRecord record, int rows)
    {
        Records++;
        long ticks = record.Started.UtcTicks;
        _firstTicks = Math.Min(_firstTicks, ticks);
        int end = Length + rows;
        if (end > _ids.Length)
        {
            int size = Math.Max(end, _ids.Length * 2);
            Array.Resize(ref _ids, size);
            Array.Resize(ref _rows, size);
            Array.Resize(ref _ticks, size);
            Array.Resize(ref _latency, size);
            Array.Resize(ref _status, size);
            Array.Resize(ref _errors, size);
        }
        string id = record.RequestId ?? "";
        double latency = record.Latency.TotalMilliseconds;
        for (int i = 0; i < rows; i++)
        {
            int at = Length + i;
            _ids[at] = id;
            _rows[at] = i;
            _ticks[at] = ticks;
            _latency[at] = latency;
            _status[at] = record.StatusCode;
            _errors[at] = record.Error;
        }
        Length = end;
    }

    /// <summary>The start time of every record appended (its first row), in the order appended.</summary>
    public IEnumerable<DateTimeOffset> RecordStarts()
    {
        for (int i = 0; i < Length; i++)
            if (_rows[i] == 0) yield return new DateTimeOffset(_ticks[i], TimeSpan.Zero);
    }

    /// <summary>The rows as one Arrow batch ordered by time: the request columns, then the feature and output columns. The
    /// arrays are made straight from the typed buffers (no per-value builder calls).</summary>
    public RecordBatch Build()
    {
        var order = Order();
        var ticks = Ordered(_ticks, Length, order);
        var micros = new byte[Length * sizeof(long)];
        var times = MemoryMarshal.Cast<byte, long>(micros.AsSpan());
        for (int i = 0; i < times.Length; i++)
        {
            long sinceEpoch = ticks[i] - DateTime.UnixEpoch.Ticks;
            times[i] = sinceEpoch >= 0 ? sinceEpoch / 10 : -((-sinceEpoch + 9) / 10);
        }
        var arrays = new List<IArrowArray>(CapturedRecord.HeaderFields.Length + _columns.Length)
        {
            Utf8(Ordered(_ids, Length, order)!),
            Fixed(Int32Type.Default, Ordered(_rows, Length, order)),
            new TimestampArray(CapturedRecord.TimeType, new ArrowBuffer(micros), ArrowBuffer.Empty, Length, 0, 0),
            Fixed(DoubleType.Default, Ordered(_latency, Length, order)),
            Fixed(Int32Type.Default, Ordered(_status, Length, order)),
            Utf8(Ordered(_errors, Length, order)),
        };
        var fields = new List<Field>(CapturedRecord.HeaderFields);
        foreach (var column in _columns)
        {
            var array = column.Build(order);
            fields.Add(new Field(column.Name, array.Data.DataType, nullable: true));
            arrays.Add(array);
        }
        return new RecordBatch(new Schema(fields, null), arrays, Length);
    }

    /// <summary>The first <paramref name="length"/> values in the given order (or as they are).</summary>
    private static ReadOnlySpan<T> Ordered<T>(T[] values, int length, int[]? order)
    {
        if (order is null) return values.AsSpan(0, length);
        var ordered = new T[length];
        for (int k = 0; k < ordered.Length; k++) ordered[k] = values[order[k]];
        return ordered;
    }

    /// <summary>A fixed-width Arrow array without nulls holding a copy of the values.</summary>
    private static IArrowArray Fixed<T>(IArrowType type, ReadOnlySpan<T> values)
        where T : unmanaged
        => ArrowArrayFactory.BuildArray(new ArrayData(type, values.Length, 0, 0, [ArrowBuffer.Empty, new ArrowBuffer(MemoryMarshal.AsBytes(values).ToArray())]));

    /// <summary>A UTF-8 string array (nulls where a value is null), encoded in one pass into exact-size buffers.</summary>
    private static StringArray Utf8(ReadOnlySpan<string?> values)
    {
        int nulls = 0, bytes = 0;
        foreach (var value in values)
        {
            if (value is null) nulls++;
            else bytes += Encoding.UTF8.GetByteCount(value);
        }
        var offsetBytes = new byte[(values.Length + 1) * sizeof(int)];
        var offsets = MemoryMarshal.Cast<byte, int>(offsetBytes.AsSpan());
        var data = new byte[bytes];
        var validity = nulls == 0 ? null : new byte[(values.Length + 7) / 8];
        int at = 0;
        for (int i = 0; i < values.Length; i++)
        {
            offsets[i] = at;
            if (values[i] is not { } value) continue;
            at += Encoding.UTF8.GetBytes(value, data.AsSpan(at));
            if (validity is not null) validity[i >> 3] |= (byte)(1 << (i & 7));
        }
        offsets[values.Length] = at;
        return new StringArray(values.Length, new ArrowBuffer(offsetBytes), new ArrowBuffer(data), validity is null ? ArrowBuffer.Empty : new ArrowBuffer(validity), nulls, 0);
    }

    /// <summary>The row order by start time, stable; <see langword="null"/> when the rows already are in that order.</summary>
    private int[]? Order()
    {
        var ticks = _ticks;
        int i = 1;
        while (i < Length && ticks[i] >= ticks[i - 1]) i++;
        if (i >= Length) return null;
        var order = new int[Length];
        for (int k = 0; k < order.Length; k++) order[k] = k;
        Array.Sort(order, (a, b) => ticks[a] != ticks[b] ? ticks[a].CompareTo(ticks[b]) : a.CompareTo(b));
        return order;
    }

    /// <summary>The kinds of stored values: one per array type that <see cref="CapturedRecord"/> makes.</summary>
    internal enum ColumnKind
    {
        Float,
        Double,
        Long,
        Bool,
        String,
        NullableDouble,
        NullableBool,
    }

    /// <summary>A feature or output column: its name, kind, the tensor it is copied from on the fast path, and its values.</summary>
    private abstract class Column(string name, ColumnKind kind, string? tensor, bool output)
    {
        public string Name { get; } = name;

        public ColumnKind Kind { get; } = kind;

        public static ColumnKind KindOf(Array values) => values switch
        {
            float[] => ColumnKind.Float,
            double[] => ColumnKind.Double,
            long[] => ColumnKind.Long,
            bool[] => ColumnKind.Bool,
            double?[] => ColumnKind.NullableDouble,
            bool?[] => ColumnKind.NullableBool,
            _ => ColumnKind.String,
        };

        /// <summary>The kind <see cref="CapturedRecord"/> stores a tensor's data as.</summary>
        private static ColumnKind KindOf(TensorDataType type) => type switch
        {
            TensorDataType.Fp32 => ColumnKind.Float,
            TensorDataType.Fp16 or TensorDataType.Fp64 => ColumnKind.Double,
            TensorDataType.Bool => ColumnKind.Bool,
            TensorDataType.Bytes => ColumnKind.String,
            _ => ColumnKind.Long,
        };

        public static Column For(CapturedColumn column) => KindOf(column.Values) switch
        {
            ColumnKind.Float => new Column<float>(column, ColumnKind.Float, values => Fixed(FloatType.Default, values)),
            ColumnKind.Double => new Column<double>(column, ColumnKind.Double, values => Fixed(DoubleType.Default, values)),
            ColumnKind.Long => new Column<long>(column, ColumnKind.Long, values => Fixed(Int64Type.Default, values)),
            ColumnKind.Bool => new Column<bool>(column, ColumnKind.Bool, Booleans),
            ColumnKind.NullableDouble => new Column<double?>(column, ColumnKind.NullableDouble, NullableDoubles),
            ColumnKind.NullableBool => new Column<bool?>(column, ColumnKind.NullableBool, NullableBooleans),
            _ => new Column<string?>(column, ColumnKind.String, values => Utf8(values)),
        };

        /// <summary>Whether a tensor goes into this column whole on the fast path: the same tensor name, side and kind, and one value per row.</summary>
        public bool Accepts(InferenceTensor t, int rows, bool output)
            => tensor is not null && output == Output && Kind == KindOf(t.DataType) && t.Data.Length == rows
               && CapturedRecord.RowCount(t) == rows && string.Equals(tensor, t.Name, StringComparison.Ordinal);

        private bool Output { get; } = output;

        public abstract void Append(Array values);

        public abstract void Append(TensorData data);

        public abstract IArrowArray Build(int[]? order);

        public abstract void Reset();

        private static BooleanArray Booleans(ReadOnlySpan<bool> values)
        {
            var bits = new byte[(values.Length + 7) / 8];
            for (int i = 0; i < values.Length; i++)
                if (values[i]) bits[i >> 3] |= (byte)(1 << (i & 7));
            return new BooleanArray(new ArrowBuffer(bits), ArrowBuffer.Empty, values.Length, 0, 0);
        }

        private static DoubleArray NullableDoubles(ReadOnlySpan<double?> values)
        {
            var b = new DoubleArray.Builder().Reserve(values.Length);
            foreach (var v in values) b.Append(v);
            return b.Build();
        }

        private static BooleanArray NullableBooleans(ReadOnlySpan<bool?> values)
        {
            var b = new BooleanArray.Builder().Reserve(values.Length);
            foreach (var v in values)
                if (v is { } value) b.Append(value); else b.AppendNull();
            return b.Build();
        }
    }

    private delegate IArrowArray ArrayBuilder<T>(ReadOnlySpan<T> values);

    private sealed class Column<T>(CapturedColumn column, ColumnKind kind, ArrayBuilder<T> build) : Column(column.Name, kind, column.Tensor, column.Output)
    {
        private T[] _values = new T[64];
        private int _count;

        public override void Append(Array values) => Add(((T[])values).AsSpan());

        public override void Append(TensorData data)
        {
            switch (this)
            {
                case Column<float> floats: floats.Add(data.AsSingles()); break;
                case Column<double> doubles: doubles.Add(data.AsDoubles()); break;
                case Column<bool> booleans: booleans.Add(data.AsBooleans()); break;
                case Column<string?> strings: strings.Add(data.AsStrings()); break;
                case Column<long> longs when data.DataType is TensorDataType.UInt8 or TensorDataType.UInt16 or TensorDataType.UInt32 or TensorDataType.UInt64:
                    foreach (var v in data.AsUInt64()) longs.Add([unchecked((long)v)]);
                    break;
                case Column<long> longs: longs.Add(data.AsInt64()); break;
                default: throw new InvalidOperationException($"Column '{Name}' of kind {Kind} takes no tensor data.");
            }
        }

        private void Add(ReadOnlySpan<T> values)
        {
            if (_count + values.Length > _values.Length) Array.Resize(ref _values, Math.Max(_count + values.Length, _values.Length * 2));
            values.CopyTo(_values.AsSpan(_count));
            _count += values.Length;
        }

        public override void Reset()
        {
            if (RuntimeHelpers.IsReferenceOrContainsReferences<T>()) Array.Clear(_values, 0, _count);
            _count = 0;
        }

        public override IArrowArray Build(int[]? order) => build(Ordered(_values, _count, order));
    }
}
