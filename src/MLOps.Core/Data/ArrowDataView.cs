using System.Text;
using Apache.Arrow;
using Apache.Arrow.Types;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLOps.Data;

/// <summary>
/// An ML.NET <see cref="IDataView"/> over Arrow record batches: one column per Arrow column, read in place. Getters read
/// the Arrow buffers at the cursor's position (no row is copied into an intermediate form); strings are decoded from UTF-8
/// only when their getter is called, once per row.
/// </summary>
/// <remarks>
/// <para>Type mapping (Arrow → ML.NET):</para>
/// <list type="bullet">
/// <item><c>double</c> → <c>Single</c> when numbers are read as single, else <c>Double</c>; <c>float</c> → <c>Single</c>.</item>
/// <item><c>int64</c> and <c>int32</c> → <c>Single</c> when numbers are read as single, else <c>Int64</c> and <c>Int32</c>.</item>
/// <item><c>bool</c> → <c>Boolean</c>; <c>string</c>, <c>large_string</c> and <c>string_view</c> → <c>Text</c>
/// (<see cref="ReadOnlyMemory{T}"/> of <see cref="char"/>); <c>timestamp</c> (any unit) → <c>DateTime</c> in UTC.</item>
/// </list>
/// <para>Nulls: <see cref="float.NaN"/> / <see cref="double.NaN"/> for every column read as a floating type (ML.NET's missing
/// value, also for integers read as single); <c>0</c> for integers read as integers (ML.NET has no missing integer, so a
/// null and a zero look the same: read numbers as single, or fill nulls upstream, when that matters); <see langword="false"/>
/// for booleans; empty text for strings; <c>default(DateTime)</c> for timestamps.</para>
/// <para>The view is immutable and its cursors are independent, so it can be read by several threads at once; the batches
/// must not be disposed while it is in use. It cannot shuffle.</para>
/// </remarks>
/// <example>
/// <code>
/// var batches = new List&lt;RecordBatch&gt;();
/// await foreach (var batch in DatasetReader.ReadParquetAsync("flights.parquet")) batches.Add(batch);
/// IDataView view = new ArrowDataView(batches);                 // numbers as Single, for ML.NET trainers
/// var model = mlContext.BinaryClassification.Trainers.FastTree().Fit(pipeline.Fit(view).Transform(view));
/// </code>
/// </example>
public sealed class ArrowDataView : IDataView
{
    private readonly IReadOnlyList<RecordBatch> _batches;
    private readonly ColumnReader[] _readers;
    private readonly long _rowCount;

    /// <summary>Creates a view over batches that share <paramref name="schema"/>.</summary>
    /// <param name="schema">The Arrow schema of every batch (needed when <paramref name="batches"/> is empty).</param>
    /// <param name="batches">The batches, in order; may be empty.</param>
    /// <param name="numbersAsSingle">Read doubles and integers as <c>Single</c> (what most ML.NET trainers expect).</param>
    /// <exception cref="ArgumentNullException"><paramref name="schema"/> or <paramref name="batches"/> is null.</exception>
    /// <exception cref="ValidationException">A column type is not supported, or a batch is null or does not match the schema.</exception>
    public ArrowDataView(Schema schema, IReadOnlyList<RecordBatch> batches, bool numbersAsSingle)
    {
        Throw.IfNull(schema);
        Throw.IfNull(batches);
        _batches = batches;
        _readers = new ColumnReader[schema.FieldsList.Count];
        var builder = new DataViewSchema.Builder();
        for (var i = 0; i < _readers.Length; i++)
        {
            var field = schema.FieldsList[i];
            _readers[i] = ColumnReader.For(field, numbersAsSingle);
            builder.AddColumn(field.Name, _readers[i].OutputType);
        }
        Schema = builder.ToSchema();
        for (var b = 0; b < batches.Count; b++)
        {
            var batch = batches[b] ?? throw new ValidationException($"Record batch {b} is null. Pass only non-null batches.");
            if (batch.ColumnCount != _readers.Length)
                throw new ValidationException($"Record batch {b} has {batch.ColumnCount} columns but the schema has {_readers.Length}. Every batch must have the schema's columns.");
            for (var i = 0; i < _readers.Length; i++)
            {
                var type = batch.Column(i).Data.DataType;
                if (type.TypeId != _readers[i].Field.DataType.TypeId)
                    throw new ValidationException($"Column '{_readers[i].Field.Name}' of record batch {b} is {type.Name} but the schema says {_readers[i].Field.DataType.Name}. Every batch must have the schema's column types.");
            }
            _rowCount += batch.Length;
        }
    }

    /// <summary>Creates a view over a non-empty list of batches, with the schema of the first.</summary>
    /// <param name="batches">The batches, in order.</param>
    /// <param name="numbersAsSingle">Read doubles and integers as <c>Single</c>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="batches"/> is null.</exception>
    /// <exception cref="ValidationException">The list is empty, a column type is not supported, or the batches' schemas differ.</exception>
    public ArrowDataView(IReadOnlyList<RecordBatch> batches, bool numbersAsSingle = true)
        : this(FirstSchema(batches), batches, numbersAsSingle)
    {
    }

    private static Schema FirstSchema(IReadOnlyList<RecordBatch> batches)
    {
        Throw.IfNull(batches);
        return batches.Count > 0
            ? batches[0].Schema
            : throw new ValidationException("The list of record batches is empty, so it has no schema. Pass the schema with the ArrowDataView(Schema, batches, numbersAsSingle) constructor.");
    }

    /// <inheritdoc/>
    public bool CanShuffle => false;

    /// <inheritdoc/>
    public DataViewSchema Schema { get; }

    /// <inheritdoc/>
    public long? GetRowCount() => _rowCount;

    /// <inheritdoc/>
    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
    {
        Throw.IfNull(columnsNeeded);
        var active = new bool[_readers.Length];
        foreach (var column in columnsNeeded)
        {
            CheckColumn(column);
            active[column.Index] = true;
        }
        return new Cursor(this, active);
    }

    /// <inheritdoc/>
    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null)
        => [GetRowCursor(columnsNeeded, rand)];

    private void CheckColumn(DataViewSchema.Column column)
    {
        if (column.Index < 0 || column.Index >= _readers.Length || !string.Equals(Schema[column.Index].Name, column.Name, StringComparison.Ordinal))
            throw new ArgumentOutOfRangeException(nameof(column), $"Column '{column.Name}' (index {column.Index}) is not a column of this view. Take columns from its Schema.");
    }

    /// <summary>Reads one Arrow column: its ML.NET type and the getter over a cursor.</summary>
    private abstract class ColumnReader(Field field, DataViewType outputType)
    {
        public Field Field { get; } = field;

        public DataViewType OutputType { get; } = outputType;

        public abstract Type RawType { get; }

        public abstract Delegate MakeGetter(Cursor cursor, int column);

        public static ColumnReader For(Field field, bool numbersAsSingle) => field.DataType.TypeId switch
        {
            ArrowTypeId.Double => numbersAsSingle
                ? new Reader<float>(field, NumberDataViewType.Single, static (cursor, column) => (ref float value) =>
                {
                    var (array, row) = cursor.At<DoubleArray>(column);
                    value = array.IsValid(row) ? (float)array.Values[row] : float.NaN;
                })
                : new Reader<double>(field, NumberDataViewType.Double, static (cursor, column) => (ref double value) =>
                {
                    var (array, row) = cursor.At<DoubleArray>(column);
                    value = array.IsValid(row) ? array.Values[row] : double.NaN;
                }),
            ArrowTypeId.Float => new Reader<float>(field, NumberDataViewType.Single, static (cursor, column) => (ref float value) =>
            {
                var (array, row) = cursor.At<FloatArray>(column);
                value = array.IsValid(row) ? array.Values[row] : float.NaN;
            }),
            ArrowTypeId.Int64 => numbersAsSingle
                ? new Reader<float>(field, NumberDataViewType.Single, static (cursor, column) => (ref float value) =>
                {
                    var (array, row) = cursor.At<Int64Array>(column);
                    value = array.IsValid(row) ? array.Values[row] : float.NaN;
                })
                : new Reader<long>(field, NumberDataViewType.Int64, static (cursor, column) => (ref long value) =>
                {
                    var (array, row) = cursor.At<Int64Array>(column);
                    value = array.IsValid(row) ? array.Values[row] : 0;
                }),
            ArrowTypeId.Int32 => numbersAsSingle
                ? new Reader<float>(field, NumberDataViewType.Single, static (cursor, column) => (ref float value) =>
                {
                    var (array, row) = cursor.At<Int32Array>(column);
                    value = array.IsValid(row) ? array.Values[row] : float.NaN;
                })
                : new Reader<int>(field, NumberDataViewType.Int32, static (cursor, column) => (ref int value) =>
                {
                    var (array, row) = cursor.At<Int32Array>(column);
                    value = array.IsValid(row) ? array.Values[row] : 0;
                }),
            ArrowTypeId.Boolean => new Reader<bool>(field, BooleanDataViewType.Instance, static (cursor, column) => (ref bool value) =>
            {
                var (array, row) = cursor.At<BooleanArray>(column);
                value = array.GetValue(row) ?? false;
            }),
            ArrowTypeId.String => TextReader(field, static (array, row) => ((StringArray)array).GetBytes(row)),
            ArrowTypeId.LargeString => TextReader(field, static (array, row) => ((LargeStringArray)array).GetBytes(row)),
            ArrowTypeId.StringView => TextReader(field, static (array, row) => ((StringViewArray)array).GetBytes(row)),
            ArrowTypeId.Timestamp => TimestampReader(field),
            _ => throw new ValidationException(
                $"Column '{field.Name}' has the Arrow type {field.DataType.Name}, which ML.NET cannot read through ArrowDataView. Cast it to double, float, int64, int32, bool, string or timestamp first."),
        };

        private delegate ReadOnlySpan<byte> Utf8Bytes(IArrowArray array, int row);

        private static Reader<ReadOnlyMemory<char>> TextReader(Field field, Utf8Bytes bytes)
            => new(field, TextDataViewType.Instance, (cursor, column) =>
            {
                // Decode lazily, once per row: repeated calls on the same row return the same memory.
                var decodedPosition = -1L;
                var decoded = ReadOnlyMemory<char>.Empty;
                return (ref ReadOnlyMemory<char> value) =>
                {
                    var (array, row) = cursor.At<IArrowArray>(column);
                    if (decodedPosition != cursor.Position)
                    {
                        decoded = array.IsNull(row) ? ReadOnlyMemory<char>.Empty : cursor.Decode(bytes(array, row));
                        decodedPosition = cursor.Position;
                    }
                    value = decoded;
                };
            });

        private static Reader<DateTime> TimestampReader(Field field)
        {
            var unit = ((TimestampType)field.DataType).Unit;
            return new(field, DateTimeDataViewType.Instance, (cursor, column) => (ref DateTime value) =>
            {
                var (array, row) = cursor.At<TimestampArray>(column);
                value = array.IsValid(row) ? ToUtc(array.Values[row], unit) : default;
            });
        }

        private static DateTime ToUtc(long value, TimeUnit unit)
        {
            var ticks = unit switch
            {
                TimeUnit.Second => value * TimeSpan.TicksPerSecond,
                TimeUnit.Millisecond => value * TimeSpan.TicksPerMillisecond,
                TimeUnit.Microsecond => value * TimeSpan.TicksPerMicrosecond,
                _ => value / TimeSpan.NanosecondsPerTick,
            };
            return new DateTime(DateTime.UnixEpoch.Ticks + ticks, DateTimeKind.Utc);
        }
    }

    private sealed class Reader<T>(Field field, DataViewType outputType, Func<Cursor, int, ValueGetter<T>> makeGetter)
        : ColumnReader(field, outputType)
    {
        public override Type RawType => typeof(T);

        public override Delegate MakeGetter(Cursor cursor, int column) => makeGetter(cursor, column);
    }

    private sealed class Cursor : DataViewRowCursor
    {
        private const int ArenaChars = 16 * 1024;
        private readonly ArrowDataView _view;
        private readonly bool[] _active;
        private readonly IArrowArray?[] _arrays;
        private int _batchIndex = -1;
        private int _batchLength;
        private int _row = -1;
        private long _position = -1;
        private bool _done;
        private char[] _arena = [];
        private int _arenaUsed;

        public Cursor(ArrowDataView view, bool[] active)
        {
            _view = view;
            _active = active;
            _arrays = new IArrowArray?[active.Length];
        }

        public override long Position => _position;

        public override long Batch => 0;

        public override DataViewSchema Schema => _view.Schema;

        public override bool IsColumnActive(DataViewSchema.Column column)
        {
            _view.CheckColumn(column);
            return _active[column.Index];
        }

        public override bool MoveNext()
        {
            if (_done) return false;
            _row++;
            while (_row >= _batchLength)
            {
                if (++_batchIndex >= _view._batches.Count)
                {
                    End();
                    return false;
                }
                var batch = _view._batches[_batchIndex];
                for (var i = 0; i < _arrays.Length; i++)
                    _arrays[i] = _active[i] ? batch.Column(i) : null;
                _batchLength = batch.Length;
                _row = 0;
            }
            _position++;
            return true;
        }

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            _view.CheckColumn(column);
            var reader = _view._readers[column.Index];
            if (!_active[column.Index])
                throw new InvalidOperationException($"Column '{column.Name}' is not active in this cursor. Include it in the columns needed when creating the cursor.");
            if (typeof(TValue) != reader.RawType)
                throw new InvalidOperationException($"Column '{column.Name}' is {reader.OutputType} (values of type {reader.RawType.Name}), so GetGetter<{typeof(TValue).Name}> is invalid. Ask for GetGetter<{reader.RawType.Name}>.");
            return (ValueGetter<TValue>)reader.MakeGetter(this, column.Index);
        }

        public override ValueGetter<DataViewRowId> GetIdGetter()
            => (ref DataViewRowId value) =>
            {
                EnsureOnRow();
                value = new DataViewRowId((ulong)_position, 0);
            };

        /// <summary>The current array of a column and the row in it.</summary>
        public (TArray Array, int Row) At<TArray>(int column) where TArray : class, IArrowArray
        {
            EnsureOnRow();
            return ((TArray)_arrays[column]!, _row);
        }

        /// <summary>Decodes UTF-8 into memory that is never overwritten (consumers may keep it), without one string per row.</summary>
        public ReadOnlyMemory<char> Decode(ReadOnlySpan<byte> utf8)
        {
            if (utf8.IsEmpty) return ReadOnlyMemory<char>.Empty;
            var max = Encoding.UTF8.GetMaxCharCount(utf8.Length);
            if (max > ArenaChars / 4) return Encoding.UTF8.GetString(utf8).AsMemory();
            if (_arena.Length - _arenaUsed < max)
            {
                _arena = new char[ArenaChars];
                _arenaUsed = 0;
            }
            var written = Encoding.UTF8.GetChars(utf8, _arena.AsSpan(_arenaUsed));
            var memory = new ReadOnlyMemory<char>(_arena, _arenaUsed, written);
            _arenaUsed += written;
            return memory;
        }

        private void EnsureOnRow()
        {
            if (_position < 0)
                throw new InvalidOperationException(_done
                    ? "The cursor is past its last row (or disposed): a getter cannot read a value. Read values only after MoveNext() returned true."
                    : "The cursor is before its first row: call MoveNext() before reading a value.");
        }

        private void End()
        {
            _done = true;
            _position = -1;
            System.Array.Clear(_arrays);
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing && !_done) End();
            base.Dispose(disposing);
        }
    }
}
