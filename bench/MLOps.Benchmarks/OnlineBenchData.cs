using System.Globalization;
using Apache.Arrow;
using Apache.Arrow.Types;
using Microsoft.Data.Sqlite;

namespace MLOps.Benchmarks;

/// <summary>
/// The online benchmarks' shared data and baseline: <see cref="Entities"/> entities x <see cref="Features"/> double
/// features (<c>id</c>, <c>ts</c>, <c>f0</c>..<c>f49</c>), and a raw prepared point read of the SQLite table the store
/// wrote.
/// </summary>
internal static class OnlineBenchData
{
    public const int Entities = 10_000;
    public const int Features = 50;

    /// <summary>The key of entity <paramref name="entity"/>.</summary>
    public static string Key(int entity) => "entity-" + entity.ToString("D5", CultureInfo.InvariantCulture);

    /// <summary>The entities' rows in batches of 2,000: feature <c>f</c> of entity <c>e</c> is <c>e * 0.001 + f</c>.</summary>
    public static IEnumerable<RecordBatch> WideBatches()
    {
        const int batchSize = 2_000;
        var t0 = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        for (var start = 0; start < Entities; start += batchSize)
        {
            var ids = new StringArray.Builder();
            var ts = new TimestampArray.Builder(TimeUnit.Microsecond, "UTC");
            var columns = Enumerable.Range(0, Features).Select(_ => new DoubleArray.Builder()).ToArray();
            for (var e = start; e < start + batchSize; e++)
            {
                ids.Append(Key(e));
                ts.Append(t0.AddSeconds(e));
                for (var f = 0; f < Features; f++) columns[f].Append(e * 0.001 + f);
            }
            var schema = new Schema.Builder()
                .Field(f => f.Name("id").DataType(StringType.Default))
                .Field(f => f.Name("ts").DataType(new TimestampType(TimeUnit.Microsecond, "UTC")));
            for (var f = 0; f < Features; f++)
            {
                var name = $"f{f}";
                schema.Field(b => b.Name(name).DataType(DoubleType.Default));
            }
            IArrowArray[] arrays = [ids.Build(), ts.Build(), .. columns.Select(c => c.Build())];
            yield return new RecordBatch(schema.Build(), arrays, batchSize);
        }
    }
}

/// <summary>
/// The online baseline: a Microsoft.Data.Sqlite <c>SqliteCommand</c> on its own connection (opened with the store's
/// settings), prepared once with a reused parameter, reading one row's <c>ts</c> and feature columns into a reused
/// <c>double[]</c>.
/// </summary>
internal sealed class RawOnlineReader : IDisposable
{
    private readonly SqliteCommand _select;
    private readonly SqliteParameter _key;

    /// <summary>Opens <paramref name="path"/> and prepares the read of feature set <paramref name="featureSet"/> of
    /// project <c>bench</c>: the store's positional columns <c>c0</c>..<c>c{n-1}</c>, <paramref name="featureCount"/> of them.</summary>
    public RawOnlineReader(string path, string featureSet, int featureCount)
        : this(path, featureSet, (_, _) => Enumerable.Range(0, featureCount).Select(i => $"c{i}").ToArray())
    {
    }

    /// <summary>Opens <paramref name="path"/> and prepares the read of feature set <paramref name="featureSet"/> of
    /// project <c>bench</c>: the columns of <paramref name="features"/>, in that order (positions looked up in
    /// <c>online_columns</c>).</summary>
    public RawOnlineReader(string path, string featureSet, IEnumerable<string> features)
        : this(path, featureSet, (connection, table) => features.Select(feature =>
        {
            using var column = connection.CreateCommand();
            column.CommandText = "SELECT position FROM online_columns WHERE table_name = $t AND feature = $f;";
            column.Parameters.AddWithValue("$t", table);
            column.Parameters.AddWithValue("$f", feature);
            return "c" + Convert.ToInt64(column.ExecuteScalar(), CultureInfo.InvariantCulture).ToString(CultureInfo.InvariantCulture);
        }).ToArray())
    {
    }

    private RawOnlineReader(string path, string featureSet, Func<SqliteConnection, string, string[]> columns)
    {
        Connection = RawSqlite.Open(path);
        string table;
        using (var find = Connection.CreateCommand())
        {
            find.CommandText = "SELECT table_name FROM online_tables WHERE project = 'bench' AND feature_set = $s;";
            find.Parameters.AddWithValue("$s", featureSet);
            table = (string)(find.ExecuteScalar() ?? throw new InvalidOperationException($"The store wrote no online table for '{featureSet}'."));
        }
        var names = columns(Connection, table);
        Values = new double[names.Length];
        _select = Connection.CreateCommand();
        _select.CommandText = $"SELECT ts, {string.Join(", ", names)} FROM \"{table}\" WHERE k = $k;";
        _key = _select.Parameters.Add("$k", SqliteType.Text);
        _select.Prepare();
    }

    /// <summary>The baseline's own connection.</summary>
    public SqliteConnection Connection { get; }

    /// <summary>The last row read's feature values.</summary>
    public double[] Values { get; }

    /// <summary>Reads <paramref name="key"/>'s row into <see cref="Values"/>; false when there is none.</summary>
    public bool Read(string key, out long time)
    {
        _key.Value = key;
        using var r = _select.ExecuteReader();
        if (!r.Read())
        {
            time = 0;
            return false;
        }
        time = r.GetInt64(0);
        for (var f = 0; f < Values.Length; f++) Values[f] = r.IsDBNull(f + 1) ? double.NaN : r.GetDouble(f + 1);
        return true;
    }

    public void Dispose()
    {
        _select.Dispose();
        Connection.Dispose();
    }
}
