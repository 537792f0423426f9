using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using MLOps.FeatureStore.Internal;

namespace MLOps.FeatureStore.Sources;

/// <summary>Reads a JSON array of objects or JSON lines, streaming, into record batches.</summary>
internal sealed class JsonSource(string path, TimeZoneInfo zone) : DataSource
{
    public override string Description => $"json {path}";

    internal override TimeZoneInfo Zone => zone;

    public override async IAsyncEnumerable<RecordBatch> ReadAsync(int chunkRows, IReadOnlyDictionary<string, FeatureType> typeHints, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        Throw.IfNullOrWhitespace(path);
        if (!System.IO.File.Exists(path))
            throw new NotFoundException("data file", path, $"The JSON file '{path}' does not exist. Check the path.");
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, useAsync: true);
        await using (stream.ConfigureAwait(false))
        {
            var first = FirstChar(stream);
            stream.Position = 0;
            var builder = new RowBatchBuilder(typeHints, zone);
            long row = 0;
            var elements = first == '['
                ? JsonSerializer.DeserializeAsyncEnumerable<JsonElement>(stream, cancellationToken: cancellationToken)
                : ReadLines(stream, cancellationToken);
            await foreach (var element in elements.ConfigureAwait(false))
            {
                row++;
                if (element.ValueKind != JsonValueKind.Object)
                    throw new ValidationException($"JSON file '{path}': row {row} is a {element.ValueKind}, not an object. Each row must be an object such as {{\"origin\": \"SFO\", \"delay\": 12}}.");
                builder.BeginRow();
                foreach (var p in element.EnumerateObject())
                    builder.Set(p.Name, p.Value.ValueKind switch
                    {
                        JsonValueKind.String => p.Value.GetString(),
                        JsonValueKind.Number => p.Value.TryGetInt64(out var l) ? (object)l : p.Value.GetDouble(), // boxed apart: a long ? long : double would be a double
                        JsonValueKind.True => true,
                        JsonValueKind.False => false,
                        JsonValueKind.Null or JsonValueKind.Undefined => null,
                        _ => p.Value.GetRawText(),
                    });
                if (builder.Count >= chunkRows)
                    yield return builder.Build($"JSON file '{path}'", row - builder.Count);
            }

            if (builder.Count > 0 || row == 0)
                yield return builder.Build($"JSON file '{path}'", row - builder.Count);
        }
    }

    private static int FirstChar(Stream stream)
    {
        int b;
        while ((b = stream.ReadByte()) >= 0)
        {
            if (b is 0xEF or 0xBB or 0xBF) continue; // UTF-8 BOM
            if (!char.IsWhiteSpace((char)b)) return b;
        }

        return -1;
    }

    private static async IAsyncEnumerable<JsonElement> ReadLines(Stream stream, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var reader = new StreamReader(stream, leaveOpen: true);
        string? line;
        while ((line = await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false)) is not null)
        {
            if (string.IsNullOrWhiteSpace(line)) continue;
            using var doc = JsonDocument.Parse(line);
            yield return doc.RootElement.Clone();
        }
    }
}

/// <summary>
/// Collects rows of loosely typed values and builds a record batch with inferred (or hinted) column types. Timestamps
/// without a zone (text without an offset, <see cref="DateTime"/>s of kind <see cref="DateTimeKind.Unspecified"/>) are
/// wall-clock times in <paramref name="zone"/>; text columns parsed later (a timestamp with a format) are read in the
/// source's <see cref="DataSource.Zone"/>, the same zone.
/// </summary>
internal sealed class RowBatchBuilder(IReadOnlyDictionary<string, FeatureType> hints, TimeZoneInfo zone)
{
    private readonly List<string> _names = [];
    private readonly Dictionary<string, List<object?>> _columns = new(StringComparer.Ordinal);
    private readonly Dictionary<string, FeatureType> _locked = new(StringComparer.Ordinal);

    public int Count { get; private set; }

    public void BeginRow()
    {
        Count++;
        foreach (var c in _columns.Values) c.Add(null);
    }

    public void Set(string name, object? value)
    {
        if (!_columns.TryGetValue(name, out var list))
        {
            list = new List<object?>(Math.Max(Count, 16));
            for (var i = 0; i < Count; i++) list.Add(null);
            _columns[name] = list;
            _names.Add(name);
        }

        list[Count - 1] = value;
    }

    /// <summary>Builds the batch. Column types are fixed by the first batch (or hints) so every chunk has the same schema.</summary>
    public RecordBatch Build(string what, long firstRowOffset)
    {
        var fields = new List<Field>();
        var arrays = new List<IArrowArray>();
        foreach (var name in _names)
        {
            var values = _columns[name];
            if (!_locked.TryGetValue(name, out var type))
            {
                type = hints.TryGetValue(name, out var hinted) ? hinted : Infer(values);
                _locked[name] = type;
            }

            arrays.Add(Convert(what, name, type, values, firstRowOffset));
            fields.Add(Arrays.Field(name, type));
        }

        foreach (var name in _locked.Keys.Except(_names, StringComparer.Ordinal).ToArray())
        {
            _names.Add(name);
            _columns[name] = [];
        }

        var batch = new RecordBatch(new Schema(fields, null), arrays, Count);
        foreach (var c in _columns.Values) c.Clear();
        Count = 0;
        return batch;
    }

    private static FeatureType Infer(List<object?> values)
    {
        bool any = false, allLong = true, allNumber = true, allBool = true, allTime = true;
        foreach (var v in values)
        {
            if (v is null) continue;
            any = true;
            allLong &= v is long;
            allNumber &= v is long or double;
            allBool &= v is bool;
            allTime &= v is DateTime or DateTimeOffset;
        }

        return !any ? FeatureType.String : allLong ? FeatureType.Int64 : allNumber ? FeatureType.Double : allBool ? FeatureType.Boolean
            : allTime ? FeatureType.Timestamp : FeatureType.String;
    }

    private IArrowArray Convert(string what, string name, FeatureType type, List<object?> values, long firstRowOffset)
    {
        var n = values.Count;
        var valid = new bool[n];
        ValidationException Bad(int i, object v) => new(
            $"{what}: column '{name}' row {firstRowOffset + i + 1} has the value '{System.Convert.ToString(v, CultureInfo.InvariantCulture)}', which is not {type} (the column's type, {"declared or inferred from the first rows"}). Fix the value, or declare the column with .Feature(\"{name}\", FeatureType.Double/String).");
        switch (type)
        {
            case FeatureType.Double:
            {
                var d = new double[n];
                for (var i = 0; i < n; i++)
                    d[i] = values[i] switch
                    {
                        null => double.NaN,
                        long l => l,
                        double x => x,
                        bool b => b ? 1 : 0,
                        string s when double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var x) => x,
                        var v => throw Bad(i, v),
                    };
                return Arrays.Doubles(d, n);
            }

            case FeatureType.Int64:
            {
                var l = new long[n];
                for (var i = 0; i < n; i++)
                {
                    valid[i] = values[i] is not null;
                    l[i] = values[i] switch
                    {
                        null => 0,
                        long x => x,
                        double x when x == Math.Floor(x) && Math.Abs(x) < 9e18 => (long)x,
                        bool b => b ? 1 : 0,
                        string s when long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var x) => x,
                        var v => throw Bad(i, v),
                    };
                }

                return Arrays.Int64s(l, valid);
            }

            case FeatureType.Boolean:
            {
                var b = new bool[n];
                for (var i = 0; i < n; i++)
                {
                    valid[i] = values[i] is not null;
                    b[i] = values[i] switch
                    {
                        null => false,
                        bool x => x,
                        long x => x != 0,
                        string s when bool.TryParse(s, out var x) => x,
                        var v => throw Bad(i, v),
                    };
                }

                return Arrays.Booleans(b, valid);
            }

            case FeatureType.Timestamp:
            {
                var t = new long[n];
                for (var i = 0; i < n; i++)
                {
                    valid[i] = values[i] is not null;
                    t[i] = values[i] switch
                    {
                        null => 0,
                        string s when Timestamps.TryParse(s, null, zone, out var us) => us,
                        long x => x,
                        DateTimeOffset d => Timestamps.FromDateTimeOffset(d),
                        DateTime d => Timestamps.FromDateTime(d, zone),
                        var v => throw Bad(i, v),
                    };
                }

                return Arrays.Timestamps(t, valid);
            }

            default:
                return Arrays.Strings(values.Select(v => v switch
                {
                    null => null,
                    string s => s,
                    bool b => b ? "true" : "false",
                    _ => System.Convert.ToString(v, CultureInfo.InvariantCulture),
                }).ToArray());
        }
    }
}
