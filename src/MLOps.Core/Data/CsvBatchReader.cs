using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using Apache.Arrow;
using Apache.Arrow.Types;
using nietras.SeparatedValues;

namespace MLOps.Data;

/// <summary>
/// Reads a CSV file (header row, comma-separated) as Arrow record batches with inferred column types.
/// See <see cref="DatasetReader.ReadAsync"/> for the inference rules.
/// </summary>
internal static class CsvBatchReader
{
    /// <summary>The type of timestamps read from CSV: microseconds, UTC.</summary>
    public static readonly TimestampType TimestampType = new(TimeUnit.Microsecond, "UTC");

    private static readonly string[] TimestampFormats =
    [
        "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK",
        "yyyy-MM-dd'T'HH:mmK",
        "yyyy-MM-dd HH:mm:ss.FFFFFFFK",
        "yyyy-MM-dd HH:mmK",
        "yyyy-MM-dd",
        "yyyy/MM/dd HH:mm",
        "yyyy/MM/dd HH:mm:ss",
    ];

    private enum CsvType
    {
        Int64,
        Double,
        Boolean,
        Timestamp,
        String,
    }

    /// <summary>Reads the file as record batches.</summary>
    /// <param name="path">The file.</param>
    /// <param name="batchSize">The largest number of rows in a batch.</param>
    /// <param name="textColumns">Columns read as strings whatever their cells look like (no type inference), or null for none.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <param name="timeZone">The zone of timestamp cells without an offset (null: UTC).</param>
    /// <returns>The batches.</returns>
    public static async IAsyncEnumerable<RecordBatch> ReadAsync(string path, int batchSize, IReadOnlySet<string>? textColumns, [EnumeratorCancellation] CancellationToken cancellationToken, TimeZoneInfo? timeZone = null)
    {
        var zone = timeZone ?? TimeZoneInfo.Utc;
        cancellationToken.ThrowIfCancellationRequested();
        var schema = await InferSchemaAsync(path, textColumns, cancellationToken).ConfigureAwait(false);
        var reader = await OpenAsync(path, cancellationToken).ConfigureAwait(false);
        using (reader)
        {
            var builders = schema.FieldsList.Select(f => ColumnBuilder.Create(f.DataType, batchSize, zone)).ToArray();
            var rows = 0;
            var yielded = false;
            while (await MoveNextAsync(reader, path, cancellationToken).ConfigureAwait(false))
            {
                if ((rows & 0xFFF) == 0)
                    cancellationToken.ThrowIfCancellationRequested();
                AppendRow(reader, builders, path);
                if (++rows == batchSize)
                {
                    yield return Build(schema, builders, rows);
                    yielded = true;
                    rows = 0;
                }
            }

            if (rows > 0 || !yielded)
                yield return Build(schema, builders, rows);
        }
    }

    private static RecordBatch Build(Schema schema, ColumnBuilder[] builders, int rows)
        => new(schema, builders.Select(b => b.Build()).ToArray(), rows);

    private static SepReaderOptions Options => new Sep(',').Reader(o => o with
    {
        HasHeader = true,
        Unescape = true,
        CultureInfo = CultureInfo.InvariantCulture,
    });

    private static async Task<SepReader> OpenAsync(string path, CancellationToken cancellationToken)
    {
        try
        {
            return await Options.FromFileAsync(path, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw Unreadable(path, e);
        }
    }

    private static async ValueTask<bool> MoveNextAsync(SepReader reader, string path, CancellationToken cancellationToken)
    {
        try
        {
            return await reader.MoveNextAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw Unreadable(path, e);
        }
    }

    private static ArtifactException Unreadable(string path, Exception e)
        => new($"The dataset file '{path}' is not a readable CSV file (comma-separated, with a header row): {e.Message}", e);

    /// <summary>First pass: the type of every column.</summary>
    private static async Task<Schema> InferSchemaAsync(string path, IReadOnlySet<string>? textColumns, CancellationToken cancellationToken)
    {
        var reader = await OpenAsync(path, cancellationToken).ConfigureAwait(false);
        using (reader)
        {
            var names = reader.Header.ColNames;
            var guesses = names.Select(n => new TypeGuess(textColumns?.Contains(n) == true)).ToArray();
            var rows = 0;
            while (await MoveNextAsync(reader, path, cancellationToken).ConfigureAwait(false))
            {
                if ((rows++ & 0xFFF) == 0)
                    cancellationToken.ThrowIfCancellationRequested();
                Observe(reader, guesses, path);
            }

            var fields = names.Select((name, i) => new Field(name, ToArrowType(guesses[i].Result), guesses[i].SawNull, metadata: null));
            return new Schema(fields, metadata: null);
        }
    }

    private static IArrowType ToArrowType(CsvType type) => type switch
    {
        CsvType.Int64 => Int64Type.Default,
        CsvType.Double => DoubleType.Default,
        CsvType.Boolean => BooleanType.Default,
        CsvType.Timestamp => TimestampType,
        _ => StringType.Default,
    };

    private static void Observe(SepReader reader, TypeGuess[] guesses, string path)
    {
        var row = reader.Current;
        CheckColumnCount(row, guesses.Length, path);
        for (var c = 0; c < guesses.Length; c++)
            guesses[c].Observe(row[c].Span);
    }

    private static void AppendRow(SepReader reader, ColumnBuilder[] builders, string path)
    {
        var row = reader.Current;
        CheckColumnCount(row, builders.Length, path);
        for (var c = 0; c < builders.Length; c++)
        {
            var cell = row[c].Span;
            if (cell.IsEmpty)
                builders[c].AppendNull();
            else if (!builders[c].TryAppend(cell))
                throw new ArtifactException($"The dataset file '{path}' changed while it was read: line {row.LineNumberFrom}, column {c + 1} does not hold the type inferred for the column. Read it again.");
        }
    }

    private static void CheckColumnCount(SepReader.Row row, int expected, string path)
    {
        if (row.ColCount != expected)
        {
            throw new ArtifactException(
                $"The dataset file '{path}' is not a readable CSV file: line {row.LineNumberFrom} has {row.ColCount} cells but the header has {expected} columns.");
        }
    }

    internal static bool TryParseLong(ReadOnlySpan<char> cell, out long value)
        => long.TryParse(cell, NumberStyles.Integer, CultureInfo.InvariantCulture, out value);

    internal static bool TryParseDouble(ReadOnlySpan<char> cell, out double value)
        => double.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out value);

    internal static bool TryParseBool(ReadOnlySpan<char> cell, out bool value)
    {
        var trimmed = cell.Trim();
        if (trimmed.Equals("true", StringComparison.OrdinalIgnoreCase))
        {
            value = true;
            return true;
        }

        value = false;
        return trimmed.Equals("false", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Parses an ISO 8601 date or date-time or <c>yyyy/MM/dd HH:mm[:ss]</c> (no offset means UTC), as UTC.</summary>
    internal static bool TryParseTimestamp(ReadOnlySpan<char> cell, out DateTimeOffset value) => TryParseTimestamp(cell, TimeZoneInfo.Utc, out value);

    /// <summary>
    /// Parses an ISO 8601 date or date-time (an offset is converted; no offset means a wall-clock time in
    /// <paramref name="zone"/>, never the machine's zone) or <c>yyyy/MM/dd HH:mm[:ss]</c> (in <paramref name="zone"/>),
    /// as UTC. The common shapes are parsed by hand (the format-list parser is several times slower), anything else by
    /// <see cref="DateTime.TryParseExact(ReadOnlySpan{char}, string[], IFormatProvider, DateTimeStyles, out DateTime)"/>.
    /// </summary>
    internal static bool TryParseTimestamp(ReadOnlySpan<char> cell, TimeZoneInfo zone, out DateTimeOffset value)
    {
        value = default;
        cell = cell.Trim();
        if (cell.Length < 10 || !char.IsAsciiDigit(cell[0]))
            return false;
        long ticks;
        bool hasOffset;
        if (TryParseTimestampFast(cell, out var fast, out hasOffset))
        {
            ticks = fast.UtcTicks;
        }
        else if (DateTime.TryParseExact(cell, TimestampFormats, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal, out var parsed))
        {
            // without an Assume* style a cell without an offset comes back unspecified and unconverted; one with an
            // offset is converted to UTC by the parser (not through the machine's zone)
            ticks = parsed.Ticks;
            hasOffset = parsed.Kind == DateTimeKind.Utc;
        }
        else
        {
            return false;
        }

        value = new DateTimeOffset(hasOffset ? ticks : WallClock.ToUtcTicks(ticks, zone), TimeSpan.Zero);
        return true;
    }

    /// <summary>The common shapes; <paramref name="hasOffset"/> tells whether the cell had an offset or Z (else the value
    /// is the wall-clock time taken as UTC).</summary>
    private static bool TryParseTimestampFast(ReadOnlySpan<char> s, out DateTimeOffset value, out bool hasOffset)
    {
        value = default;
        hasOffset = false;
        // yyyy-MM-dd or yyyy/MM/dd
        var separator = s[4];
        if ((separator != '-' && separator != '/') || s[7] != separator
            || !TryDigits(s[..4], out var year) || !TryDigits(s.Slice(5, 2), out var month) || !TryDigits(s.Slice(8, 2), out var day)
            || year < 1 || month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month))
        {
            return false;
        }

        var rest = s[10..];
        int hour = 0, minute = 0, second = 0;
        long fractionTicks = 0;
        var offset = TimeSpan.Zero;
        if (rest.IsEmpty)
        {
            if (separator == '/')
                return false;
        }
        else
        {
            // [T ]HH:mm[:ss[.f...]]
            if (!(rest[0] == ' ' || (rest[0] == 'T' && separator == '-')) || rest.Length < 6 || rest[3] != ':'
                || !TryDigits(rest.Slice(1, 2), out hour) || !TryDigits(rest.Slice(4, 2), out minute) || hour > 23 || minute > 59)
            {
                return false;
            }

            rest = rest[6..];
            if (rest.Length >= 3 && rest[0] == ':')
            {
                if (!TryDigits(rest.Slice(1, 2), out second) || second > 59)
                    return false;
                rest = rest[3..];
                if (rest.Length >= 2 && rest[0] == '.' && separator == '-')
                {
                    var digits = 1;
                    while (digits < rest.Length && char.IsAsciiDigit(rest[digits]))
                        digits++;
                    if (digits == 1 || digits > 8 || !TryDigits(rest[1..digits], out var fraction))
                        return false;
                    fractionTicks = fraction;
                    for (var i = digits - 1; i < 7; i++)
                        fractionTicks *= 10;
                    rest = rest[digits..];
                }
            }

            if (!rest.IsEmpty)
            {
                // Z, +HH:mm or -HH:mm (ISO only).
                if (separator != '-')
                    return false;
                hasOffset = true;
                if (rest is ['Z'])
                {
                    offset = TimeSpan.Zero;
                }
                else if (rest.Length == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':'
                    && TryDigits(rest.Slice(1, 2), out var offsetHours) && TryDigits(rest.Slice(4, 2), out var offsetMinutes)
                    && offsetHours <= 14 && offsetMinutes <= 59)
                {
                    offset = new TimeSpan(offsetHours, offsetMinutes, 0);
                    if (rest[0] == '-')
                        offset = -offset;
                }
                else
                {
                    return false;
                }
            }
        }

        var local = new DateTime(year, month, day, hour, minute, second, DateTimeKind.Unspecified).AddTicks(fractionTicks);
        var utcTicks = local.Ticks - offset.Ticks;
        if (utcTicks < DateTime.MinValue.Ticks || utcTicks > DateTime.MaxValue.Ticks)
            return false;
        value = new DateTimeOffset(utcTicks, TimeSpan.Zero);
        return true;
    }

    private static bool TryDigits(ReadOnlySpan<char> digits, out int value)
    {
        value = 0;
        foreach (var c in digits)
        {
            if (!char.IsAsciiDigit(c))
                return false;
            value = (value * 10) + (c - '0');
        }

        return true;
    }

    /// <summary>The types a column's cells are still compatible with (only string for a column read as text).</summary>
    private sealed class TypeGuess(bool text)
    {
        private bool _long = true;
        private bool _double = true;
        private bool _bool = true;
        private bool _timestamp = true;
        private bool _sawValue;

        public bool SawNull { get; private set; }

        public CsvType Result => text || !_sawValue ? CsvType.String
            : _long ? CsvType.Int64
            : _double ? CsvType.Double
            : _bool ? CsvType.Boolean
            : _timestamp ? CsvType.Timestamp
            : CsvType.String;

        public void Observe(ReadOnlySpan<char> cell)
        {
            if (cell.IsEmpty)
            {
                SawNull = true;
                return;
            }

            _sawValue = true;
            if (text)
                return;
            if (_long && !TryParseLong(cell, out _))
                _long = false;
            if (!_long && _double && !TryParseDouble(cell, out _))
                _double = false;
            if (_bool && !TryParseBool(cell, out _))
                _bool = false;
            if (_timestamp && !TryParseTimestamp(cell, out _))
                _timestamp = false;
        }
    }

    /// <summary>Builds one column of a batch from CSV cells.</summary>
    private abstract class ColumnBuilder
    {
        public static ColumnBuilder Create(IArrowType type, int capacity, TimeZoneInfo zone) => type switch
        {
            Int64Type => new ParsedColumn<long, Int64Array, Int64Array.Builder>(capacity, TryParseLong),
            DoubleType => new ParsedColumn<double, DoubleArray, DoubleArray.Builder>(capacity, TryParseDouble),
            BooleanType => new ParsedColumn<bool, BooleanArray, BooleanArray.Builder>(capacity, TryParseBool),
            Apache.Arrow.Types.TimestampType t => new TimestampColumn(t, capacity, zone),
            _ => new StringColumn(),
        };

        public abstract bool TryAppend(ReadOnlySpan<char> cell);

        public abstract void AppendNull();

        /// <summary>Builds the array of the cells appended since the last call.</summary>
        public abstract IArrowArray Build();
    }

    private delegate bool CellParser<T>(ReadOnlySpan<char> cell, out T value);

    /// <summary>A column of a primitive Arrow type whose cells parse with one function (int64, double, bool).</summary>
    private sealed class ParsedColumn<T, TArray, TBuilder>(int capacity, CellParser<T> parse) : ColumnBuilder
        where T : struct
        where TArray : IArrowArray
        where TBuilder : IArrowArrayBuilder<T, TArray, TBuilder>, new()
    {
        private TBuilder _builder = NewBuilder(capacity);

        private static TBuilder NewBuilder(int capacity) => new TBuilder().Reserve(Math.Min(capacity, 1 << 16));

        public override bool TryAppend(ReadOnlySpan<char> cell)
        {
            if (!parse(cell, out var value))
                return false;
            _builder.Append(value);
            return true;
        }

        public override void AppendNull() => _builder.AppendNull();

        public override IArrowArray Build()
        {
            var array = _builder.Build(default);
            _builder = NewBuilder(capacity);
            return array;
        }
    }

    private sealed class TimestampColumn(Apache.Arrow.Types.TimestampType type, int capacity, TimeZoneInfo zone) : ColumnBuilder
    {
        private TimestampArray.Builder _builder = new TimestampArray.Builder(type).Reserve(Math.Min(capacity, 1 << 16));

        public override bool TryAppend(ReadOnlySpan<char> cell)
        {
            if (!TryParseTimestamp(cell, zone, out var value))
                return false;
            _builder.Append(value);
            return true;
        }

        public override void AppendNull() => _builder.AppendNull();

        public override IArrowArray Build()
        {
            var array = _builder.Build();
            _builder = new TimestampArray.Builder(type).Reserve(Math.Min(capacity, 1 << 16));
            return array;
        }
    }

    private sealed class StringColumn : ColumnBuilder
    {
        private StringArray.Builder _builder = new();
        private byte[] _utf8 = new byte[256];

        public override bool TryAppend(ReadOnlySpan<char> cell)
        {
            var needed = Encoding.UTF8.GetMaxByteCount(cell.Length);
            if (_utf8.Length < needed)
                _utf8 = new byte[Math.Max(needed, _utf8.Length * 2)];
            var length = Encoding.UTF8.GetBytes(cell, _utf8);
            _builder.Append(_utf8.AsSpan(0, length));
            return true;
        }

        public override void AppendNull() => _builder.AppendNull();

        public override IArrowArray Build()
        {
            var array = _builder.Build();
            _builder = new StringArray.Builder();
            return array;
        }
    }
}
