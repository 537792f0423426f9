using System.Globalization;
using System.Runtime.InteropServices;
using Apache.Arrow.Types;
using SQLitePCL;

namespace MLOps.FeatureStore.Online;

/// <summary>
/// A record batch checked against an online table's definition: the encoded entity key and the event time of each
/// row, and a binder per feature column present in the batch. Validation happens once, here, before any row is written.
/// </summary>
internal sealed class OnlineRowBatch
{
    private readonly EntityPart[] _entities;
    private readonly StringArray? _singleStringKey;
    private readonly TimestampArray _time;
    private readonly long _timeScale;
    private readonly bool _timeIsNanoseconds;
    private readonly Dictionary<string, ColumnBinder> _features;
    private byte[] _keyBuffer = [];
    private int[] _keyOffsets = [];

    private OnlineRowBatch(RecordBatch rows, EntityPart[] entities, TimestampArray time, Dictionary<string, ColumnBinder> features)
    {
        Length = rows.Length;
        _entities = entities;
        _singleStringKey = entities is [{ Array: StringArray s }] ? s : null;
        _time = time;
        (_timeScale, _timeIsNanoseconds) = Scale(((TimestampType)time.Data.DataType).Unit);
        _features = features;
        if (_singleStringKey is null) EncodeKeys();
        RowsToWrite = LatestRowPerKey();
    }

    public int Length { get; }

    /// <summary>
    /// The rows that change the table, in batch order: of several rows with one key only the one a sequence of
    /// upserts would leave (the latest event time; of equal times the later row), so a batch with many events per
    /// entity costs one upsert per entity.
    /// </summary>
    public int[] RowsToWrite { get; }

    /// <summary>Checks a batch against a table definition.</summary>
    /// <exception cref="ValidationException">A column is missing, has a type the table cannot store, or an entity or
    /// timestamp value is null.</exception>
    public static OnlineRowBatch Create(OnlineTable table, RecordBatch rows)
    {
        var fields = rows.Schema.FieldsList;
        var index = new Dictionary<string, int>(fields.Count, StringComparer.Ordinal);
        for (var i = 0; i < fields.Count; i++) index.TryAdd(fields[i].Name, i);
        string Found() => fields.Count == 0 ? "(none)" : string.Join(", ", fields.Select(f => $"{f.Name} ({f.DataType.Name})"));

        var entities = new EntityPart[table.Entities.Count];
        for (var e = 0; e < entities.Length; e++)
        {
            var name = table.Entities[e].Name;
            if (!index.TryGetValue(name, out var at))
                throw new ValidationException($"The rows of feature set '{table.FeatureSet}' have no entity column '{name}'. Columns found: {Found()}.");
            var array = rows.Column(at);
            if (array is not (StringArray or Int64Array or Int32Array or BooleanArray or TimestampArray))
                throw new ValidationException($"Entity column '{name}' of feature set '{table.FeatureSet}' is {array.Data.DataType.Name}; entity columns must be string, int64, int32, bool or timestamp.");
            ThrowIfNull(table, name, "entity column", array);
            entities[e] = new EntityPart(array, array is TimestampArray t ? Scale(((TimestampType)t.Data.DataType).Unit) : (1, false));
        }

        if (!index.TryGetValue(table.TimestampColumn, out var ts))
            throw new ValidationException($"The rows of feature set '{table.FeatureSet}' have no timestamp column '{table.TimestampColumn}'. Columns found: {Found()}.");
        if (rows.Column(ts) is not TimestampArray time)
            throw new ValidationException($"Timestamp column '{table.TimestampColumn}' of feature set '{table.FeatureSet}' is {rows.Column(ts).Data.DataType.Name}; it must be timestamp[us, UTC] (other units are converted).");
        ThrowIfNull(table, table.TimestampColumn, "timestamp column", time);

        var features = new Dictionary<string, ColumnBinder>(StringComparer.Ordinal);
        foreach (var feature in table.Features)
        {
            if (index.TryGetValue(feature.Name, out var at))
                features.TryAdd(feature.Name, ColumnBinder.Create(table, feature, rows.Column(at)));
        }
        return new OnlineRowBatch(rows, entities, time, features);
    }

    private static void ThrowIfNull(OnlineTable table, string column, string role, IArrowArray array)
    {
        if (array.NullCount == 0) return;
        for (var i = 0; i < array.Length; i++)
        {
            if (array.IsNull(i))
                throw new ValidationException($"The {role} '{column}' of feature set '{table.FeatureSet}' is null at row {i}. Every row needs a value in each entity column and in the timestamp column; filter out or fill such rows first.");
        }
    }

    /// <summary>The binder of a feature column, or <see langword="null"/> when the batch does not have it.</summary>
    public ColumnBinder? Feature(string name) => _features.GetValueOrDefault(name);

    /// <summary>The event time of a row, in microseconds since the Unix epoch.</summary>
    public long EventTime(int row) => ToMicroseconds(_time.Values[row], _timeScale, _timeIsNanoseconds);

    /// <summary>The encoded entity key of a row as UTF-8: the text <see cref="EntityKey.Encode"/> gives.</summary>
    public ReadOnlySpan<byte> KeyBytes(int row)
        => _singleStringKey is not null ? _singleStringKey.GetBytes(row) : _keyBuffer.AsSpan(_keyOffsets[row], _keyOffsets[row + 1] - _keyOffsets[row]);

    /// <summary>Binds the encoded entity key of a row.</summary>
    public void BindKey(sqlite3_stmt stmt, int parameter, int row) => SqliteRaw.BindText(stmt, parameter, KeyBytes(row));

    private int[] LatestRowPerKey()
    {
        if (Length <= 1) return Length == 0 ? [] : [0];
        var latest = new Dictionary<int, int>(Math.Min(Length, 1 << 16), new RowKeyComparer(this));
        for (var row = 0; row < Length; row++)
        {
            ref var chosen = ref CollectionsMarshal.GetValueRefOrAddDefault(latest, row, out var exists);
            if (!exists || EventTime(row) >= EventTime(chosen)) chosen = row;
        }
        if (latest.Count == Length) return Enumerable.Range(0, Length).ToArray();
        var rows = latest.Values.ToArray();
        System.Array.Sort(rows);
        return rows;
    }

    /// <summary>Compares rows by their encoded key.</summary>
    private sealed class RowKeyComparer(OnlineRowBatch batch) : IEqualityComparer<int>
    {
        public bool Equals(int x, int y) => batch.KeyBytes(x).SequenceEqual(batch.KeyBytes(y));

        public int GetHashCode(int row)
        {
            var hash = new HashCode();
            hash.AddBytes(batch.KeyBytes(row));
            return hash.ToHashCode();
        }
    }

    /// <summary>Encodes the compound (or non-string) keys of every row once, into one buffer.</summary>
    private void EncodeKeys()
    {
        _keyOffsets = new int[Length + 1];
        var length = 0;
        for (var row = 0; row < Length; row++)
        {
            for (var e = 0; e < _entities.Length; e++)
            {
                if (e > 0) Append((byte)EntityKey.Separator, ref length);
                _entities[e].Write(row, this, ref length);
            }
            _keyOffsets[row + 1] = length;
        }
    }

    private void Append(byte b, ref int length)
    {
        Reserve(length + 1);
        _keyBuffer[length++] = b;
    }

    private void Append(ReadOnlySpan<byte> bytes, ref int length)
    {
        Reserve(length + bytes.Length);
        bytes.CopyTo(_keyBuffer.AsSpan(length));
        length += bytes.Length;
    }

    private void AppendInteger(long value, ref int length)
    {
        Reserve(length + 20);
        value.TryFormat(_keyBuffer.AsSpan(length), out var written, default, CultureInfo.InvariantCulture);
        length += written;
    }

    private void Reserve(int size)
    {
        if (_keyBuffer.Length < size) System.Array.Resize(ref _keyBuffer, Math.Max(Math.Max(size, 256), _keyBuffer.Length * 2));
    }

    private static (long Scale, bool Nanoseconds) Scale(TimeUnit unit) => unit switch
    {
        TimeUnit.Second => (1_000_000, false),
        TimeUnit.Millisecond => (1_000, false),
        TimeUnit.Microsecond => (1, false),
        _ => (1, true),
    };

    /// <summary>Converts a timestamp value of an Arrow unit to microseconds (nanoseconds round down).</summary>
    private static long ToMicroseconds(long value, long scale, bool nanoseconds)
    {
        if (!nanoseconds) return value * scale;
        var q = value / 1000;
        return value % 1000 < 0 ? q - 1 : q;
    }

    private readonly record struct EntityPart(IArrowArray Array, (long Scale, bool Nanoseconds) Time)
    {
        public void Write(int row, OnlineRowBatch batch, ref int length)
        {
            switch (Array)
            {
                case StringArray s:
                    batch.Append(s.GetBytes(row), ref length);
                    break;
                case Int64Array l:
                    batch.AppendInteger(l.Values[row], ref length);
                    break;
                case Int32Array i:
                    batch.AppendInteger(i.Values[row], ref length);
                    break;
                case BooleanArray b:
                    batch.Append(b.GetValue(row) == true ? "true"u8 : "false"u8, ref length);
                    break;
                case TimestampArray t:
                    batch.AppendInteger(ToMicroseconds(t.Values[row], Time.Scale, Time.Nanoseconds), ref length);
                    break;
            }
        }
    }

    /// <summary>Binds one feature column's value of a row to a statement parameter.</summary>
    internal abstract class ColumnBinder
    {
        public abstract void Bind(sqlite3_stmt stmt, int parameter, int row);

        public static ColumnBinder Create(OnlineTable table, FeatureColumn feature, IArrowArray array)
        {
            ColumnBinder? binder = (feature.Type, array) switch
            {
                (FeatureType.Double, DoubleArray a) => new DoubleBinder(a),
                (FeatureType.Double, FloatArray a) => new FloatBinder(a),
                (FeatureType.Double or FeatureType.Int64, Int64Array a) => new Int64Binder(a),
                (FeatureType.Double or FeatureType.Int64, Int32Array a) => new Int32Binder(a),
                (FeatureType.Boolean, BooleanArray a) => new BooleanBinder(a),
                (FeatureType.String, StringArray a) => new StringBinder(a),
                (FeatureType.Timestamp, TimestampArray a) => new TimestampBinder(a),
                (_, NullArray) => NullBinder.Instance,
                _ => null,
            };
            return binder ?? throw new ValidationException(
                $"Feature column '{feature.Name}' of feature set '{table.FeatureSet}' is {array.Data.DataType.Name} in the rows, but the feature is {feature.Type}. "
                + $"Convert the column to {Expected(feature.Type)}, or change the feature's type.");
        }

        private static string Expected(FeatureType type) => type switch
        {
            FeatureType.Double => "double (float, int64 and int32 are also accepted)",
            FeatureType.Int64 => "int64 (int32 is also accepted)",
            FeatureType.Boolean => "bool",
            FeatureType.String => "string",
            _ => "timestamp[us, UTC] (other units are converted)",
        };
    }

    private sealed class DoubleBinder(DoubleArray a) : ColumnBinder
    {
        public override void Bind(sqlite3_stmt stmt, int parameter, int row)
        {
            if (a.IsNull(row)) raw.sqlite3_bind_null(stmt, parameter);
            else raw.sqlite3_bind_double(stmt, parameter, a.Values[row]);
        }
    }

    private sealed class FloatBinder(FloatArray a) : ColumnBinder
    {
        public override void Bind(sqlite3_stmt stmt, int parameter, int row)
        {
            if (a.IsNull(row)) raw.sqlite3_bind_null(stmt, parameter);
            else raw.sqlite3_bind_double(stmt, parameter, a.Values[row]);
        }
    }

    private sealed class Int64Binder(Int64Array a) : ColumnBinder
    {
        public override void Bind(sqlite3_stmt stmt, int parameter, int row)
        {
            if (a.IsNull(row)) raw.sqlite3_bind_null(stmt, parameter);
            else raw.sqlite3_bind_int64(stmt, parameter, a.Values[row]);
        }
    }

    private sealed class Int32Binder(Int32Array a) : ColumnBinder
    {
        public override void Bind(sqlite3_stmt stmt, int parameter, int row)
        {
            if (a.IsNull(row)) raw.sqlite3_bind_null(stmt, parameter);
            else raw.sqlite3_bind_int64(stmt, parameter, a.Values[row]);
        }
    }

    private sealed class BooleanBinder(BooleanArray a) : ColumnBinder
    {
        public override void Bind(sqlite3_stmt stmt, int parameter, int row)
        {
            if (a.IsNull(row)) raw.sqlite3_bind_null(stmt, parameter);
            else raw.sqlite3_bind_int64(stmt, parameter, a.GetValue(row) == true ? 1 : 0);
        }
    }

    private sealed class StringBinder(StringArray a) : ColumnBinder
    {
        public override void Bind(sqlite3_stmt stmt, int parameter, int row)
        {
            if (a.IsNull(row)) raw.sqlite3_bind_null(stmt, parameter);
            else SqliteRaw.BindText(stmt, parameter, a.GetBytes(row));
        }
    }

    private sealed class TimestampBinder : ColumnBinder
    {
        private readonly TimestampArray _a;
        private readonly long _scale;
        private readonly bool _nanoseconds;

        public TimestampBinder(TimestampArray a)
        {
            _a = a;
            (_scale, _nanoseconds) = Scale(((TimestampType)a.Data.DataType).Unit);
        }

        public override void Bind(sqlite3_stmt stmt, int parameter, int row)
        {
            if (_a.IsNull(row)) raw.sqlite3_bind_null(stmt, parameter);
            else raw.sqlite3_bind_int64(stmt, parameter, ToMicroseconds(_a.Values[row], _scale, _nanoseconds));
        }
    }

    /// <summary>Binds NULL: a feature the batch does not have, or an Arrow null column.</summary>
    internal sealed class NullBinder : ColumnBinder
    {
        public static readonly NullBinder Instance = new();

        public override void Bind(sqlite3_stmt stmt, int parameter, int row) => raw.sqlite3_bind_null(stmt, parameter);
    }
}
