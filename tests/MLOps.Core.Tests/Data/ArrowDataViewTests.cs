using System.Globalization;
using System.Text.Json;
using Apache.Arrow.Types;
using Microsoft.ML;
using Microsoft.ML.Data;
using Apache.Arrow;

namespace MLOps.Core.Tests.Data;

[Parallelizable(ParallelScope.All)]
public sealed class ArrowDataViewTests
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 30, 15, TimeSpan.Zero);

    private static RecordBatch Batch(params (string Name, IArrowArray Array)[] columns)
    {
        var schema = new Schema(columns.Select(c => new Field(c.Name, c.Array.Data.DataType, nullable: true)), null);
        return new RecordBatch(schema, columns.Select(c => c.Array), columns.Length == 0 ? 0 : columns[0].Array.Length);
    }

    /// <summary>One column of every supported type; row 1 is null in every column.</summary>
    private static RecordBatch EveryType(double d, float f, long l, int i, bool b, string s, DateTimeOffset t) => Batch(
        ("d", new DoubleArray.Builder().Append(d).AppendNull().Build()),
        ("f", new FloatArray.Builder().Append(f).AppendNull().Build()),
        ("l", new Int64Array.Builder().Append(l).AppendNull().Build()),
        ("i", new Int32Array.Builder().Append(i).AppendNull().Build()),
        ("b", new BooleanArray.Builder().Append(b).AppendNull().Build()),
        ("s", new StringArray.Builder().Append(s).AppendNull().Build()),
        ("t", new TimestampArray.Builder(TimeUnit.Microsecond, "UTC").Append(t).AppendNull().Build()));

    private static RecordBatch Empty(RecordBatch like)
        => new(like.Schema, like.Arrays.Select(a => ArrowArrayFactory.Slice(a, 0, 0)), 0);

    [TestCase(true, "Single", "Single", "Single", "Single")]
    [TestCase(false, "Double", "Single", "Int64", "Int32")]
    public void Schema_EveryArrowType_MapsToTheDataViewType(bool numbersAsSingle, string d, string f, string l, string i)
    {
        var view = new ArrowDataView([EveryType(1, 2, 3, 4, true, "x", T0)], numbersAsSingle);
        Assert.That(view.Schema.Select(c => c.Name), Is.EqualTo(new[] { "d", "f", "l", "i", "b", "s", "t" }));
        Assert.That(view.Schema.Select(c => c.Type.RawType.Name), Is.EqualTo(new[] { d, f, l, i, "Boolean", "ReadOnlyMemory`1", "DateTime" }));
        Assert.That(view.Schema["s"].Type, Is.SameAs(TextDataViewType.Instance));
        Assert.That(view.Schema["t"].Type, Is.SameAs(DateTimeDataViewType.Instance));
        Assert.That(view.CanShuffle, Is.False);
        Assert.That(view.GetRowCount(), Is.EqualTo(2));
    }

    [Test]
    public void Ctor_UnsupportedTypeOrMismatchedBatch_ThrowsValidationExceptionNamingTheColumn()
    {
        var dates = Batch(("day", new Date32Array.Builder().Append(DateTime.UnixEpoch).Build()));
        var e = Assert.Throws<ValidationException>(() => _ = new ArrowDataView([dates]));
        Assert.That(e!.Message, Does.Contain("'day'").And.Contain("date32"));

        var doubles = Batch(("x", new DoubleArray.Builder().Append(1).Build()));
        var longs = Batch(("x", new Int64Array.Builder().Append(1).Build()));
        e = Assert.Throws<ValidationException>(() => _ = new ArrowDataView([doubles, longs]));
        Assert.That(e!.Message, Does.Contain("'x'").And.Contain("batch 1"));

        Assert.Throws<ValidationException>(() => _ = new ArrowDataView([]));
        Assert.Throws<ArgumentNullException>(() => _ = new ArrowDataView(null!));
    }

    [Test]
    public void Cursor_EmptyBatchListWithSchema_HasSchemaAndNoRows()
    {
        var schema = EveryType(1, 2, 3, 4, true, "x", T0).Schema;
        var view = new ArrowDataView(schema, [], numbersAsSingle: true);
        Assert.That(view.Schema.Count, Is.EqualTo(7));
        Assert.That(view.GetRowCount(), Is.EqualTo(0));
        using var cursor = view.GetRowCursor(view.Schema);
        Assert.That(cursor.MoveNext(), Is.False);
        Assert.That(cursor.Position, Is.EqualTo(-1));
    }

    [Test]
    public void Cursor_ValuesAndNullsAcrossBatches_ReadInPlace()
    {
        var view = new ArrowDataView(
            [EveryType(1.5, 2.5f, 3, 4, true, "héllo", T0), Empty(EveryType(0, 0, 0, 0, false, "", T0)), EveryType(-1, -2, -3, -4, false, "", T0.AddDays(1)),
                EveryType(7, 8, 9, 10, true, "z", T0.AddHours(1))],
            numbersAsSingle: false);
        var rows = new List<(double D, float F, long L, int I, bool B, string S, DateTime T, ulong Id, long Position)>();
        using (var cursor = view.GetRowCursor(view.Schema))
        {
            var d = cursor.GetGetter<double>(view.Schema["d"]);
            var f = cursor.GetGetter<float>(view.Schema["f"]);
            var l = cursor.GetGetter<long>(view.Schema["l"]);
            var i = cursor.GetGetter<int>(view.Schema["i"]);
            var b = cursor.GetGetter<bool>(view.Schema["b"]);
            var s = cursor.GetGetter<ReadOnlyMemory<char>>(view.Schema["s"]);
            var t = cursor.GetGetter<DateTime>(view.Schema["t"]);
            var id = cursor.GetIdGetter();
            double dv = 0; float fv = 0; long lv = 0; int iv = 0; bool bv = false; ReadOnlyMemory<char> sv = default; DateTime tv = default; DataViewRowId idv = default;
            while (cursor.MoveNext())
            {
                d(ref dv); f(ref fv); l(ref lv); i(ref iv); b(ref bv); s(ref sv); t(ref tv); id(ref idv);
                rows.Add((dv, fv, lv, iv, bv, sv.ToString(), tv, idv.Low, cursor.Position));
            }
        }
        Assert.That(rows, Has.Count.EqualTo(6));
        Assert.That(rows[0], Is.EqualTo((1.5, 2.5f, 3L, 4, true, "héllo", T0.UtcDateTime, 0UL, 0L)));
        Assert.That(rows[2], Is.EqualTo((-1.0, -2f, -3L, -4, false, "", T0.AddDays(1).UtcDateTime, 2UL, 2L)));
        Assert.That(rows[4], Is.EqualTo((7.0, 8f, 9L, 10, true, "z", T0.AddHours(1).UtcDateTime, 4UL, 4L)));
        Assert.That(rows[4].T.Kind, Is.EqualTo(DateTimeKind.Utc));
        foreach (var n in new[] { 1, 3, 5 })
        {
            var r = rows[n];
            Assert.That(double.IsNaN(r.D) && float.IsNaN(r.F), Is.True, "null floating values read as NaN");
            Assert.That((r.L, r.I, r.B, r.S, r.T, r.Position), Is.EqualTo((0L, 0, false, "", default(DateTime), (long)n)));
        }
    }

    [Test]
    public void Cursor_NumbersAsSingle_ReadsEveryNumberAsSingleAndNullsAsNaN()
    {
        var view = new ArrowDataView([EveryType(1.25, 2, 3, 4, true, "x", T0)], numbersAsSingle: true);
        using var cursor = view.GetRowCursor(view.Schema);
        var getters = new[] { "d", "f", "l", "i" }.Select(n => cursor.GetGetter<float>(view.Schema[n])).ToArray();
        var values = new List<float>();
        while (cursor.MoveNext())
            foreach (var g in getters)
            {
                float v = 0;
                g(ref v);
                values.Add(v);
            }
        Assert.That(values.Take(4), Is.EqualTo(new[] { 1.25f, 2f, 3f, 4f }));
        Assert.That(values.Skip(4).All(float.IsNaN), Is.True);
    }

    [Test]
    public void Cursor_SlicedArrays_ReadFromTheirOffset()
    {
        var full = new Int64Array.Builder().AppendRange([10, 11, 12, 13, 14]).Build();
        var text = new StringArray.Builder().AppendRange(["a", "b", "c", "d", "e"]).Build();
        var batch = Batch(("n", ArrowArrayFactory.Slice(full, 2, 3)), ("s", ArrowArrayFactory.Slice(text, 2, 3)));
        var view = new ArrowDataView([batch], numbersAsSingle: false);
        var ml = new MLContext(seed: 1);
        var rows = ml.Data.CreateEnumerable<NumberText>(view, reuseRowObject: false).ToList();
        Assert.That(rows.Select(r => (r.N, r.S)), Is.EqualTo(new[] { (12L, "c"), (13L, "d"), (14L, "e") }));
    }

    private sealed class NumberText
    {
        [ColumnName("n")]
        public long N { get; set; }

        [ColumnName("s")]
        public string S { get; set; } = "";
    }

    [Test]
    public void Cursor_Contract_PositionGettersAndErrors()
    {
        var view = new ArrowDataView([EveryType(1, 2, 3, 4, true, "x", T0)], numbersAsSingle: true);
        Assert.That(view.GetRowCursorSet(view.Schema, 4), Has.Length.EqualTo(1));
        using var cursor = view.GetRowCursor([view.Schema["d"], view.Schema["s"]]);
        Assert.That((cursor.Position, cursor.Batch), Is.EqualTo((-1L, 0L)));
        Assert.That(cursor.IsColumnActive(view.Schema["d"]), Is.True);
        Assert.That(cursor.IsColumnActive(view.Schema["l"]), Is.False);

        var inactive = Assert.Throws<InvalidOperationException>(() => cursor.GetGetter<float>(view.Schema["l"]));
        Assert.That(inactive!.Message, Does.Contain("'l'").And.Contain("not active"));
        var wrongType = Assert.Throws<InvalidOperationException>(() => cursor.GetGetter<double>(view.Schema["d"]));
        Assert.That(wrongType!.Message, Does.Contain("'d'").And.Contain("Single"));

        var d = cursor.GetGetter<float>(view.Schema["d"]);
        var s = cursor.GetGetter<ReadOnlyMemory<char>>(view.Schema["s"]);
        float value = 0;
        Assert.Throws<InvalidOperationException>(() => d(ref value));

        Assert.That(cursor.MoveNext(), Is.True);
        ReadOnlyMemory<char> first = default, again = default;
        s(ref first);
        s(ref again);
        Assert.That(again.Equals(first), Is.True, "the same row decodes once");
        Assert.That(cursor.MoveNext(), Is.True);
        Assert.That(cursor.MoveNext(), Is.False);
        Assert.That(cursor.Position, Is.EqualTo(-1));
        Assert.That(cursor.MoveNext(), Is.False);
        Assert.Throws<InvalidOperationException>(() => d(ref value));
        Assert.That(first.ToString(), Is.EqualTo("x"), "decoded text stays valid after the cursor moves");
    }

    [Test]
    public void CreateEnumerable_OverTheView_GivesTheValues()
    {
        var view = new ArrowDataView(
            [EveryType(1.5, 2.5f, 3, 4, true, "first", T0), EveryType(5, 6, 7, 8, false, "second", T0.AddMinutes(1))],
            numbersAsSingle: false);
        var rows = new MLContext(seed: 1).Data.CreateEnumerable<EveryTypeRow>(view, reuseRowObject: false).ToList();
        Assert.That(rows.Select(r => (r.D, r.F, r.L, r.I, r.B, r.S, r.T)), Is.EqualTo(new[]
        {
            (1.5, 2.5f, 3L, 4, true, "first", T0.UtcDateTime),
            (double.NaN, float.NaN, 0L, 0, false, "", default(DateTime)),
            (5.0, 6f, 7L, 8, false, "second", T0.AddMinutes(1).UtcDateTime),
            (double.NaN, float.NaN, 0L, 0, false, "", default(DateTime)),
        }));
    }

    private sealed class EveryTypeRow
    {
        [ColumnName("d")]
        public double D { get; set; }

        [ColumnName("f")]
        public float F { get; set; }

        [ColumnName("l")]
        public long L { get; set; }

        [ColumnName("i")]
        public int I { get; set; }

        [ColumnName("b")]
        public bool B { get; set; }

        [ColumnName("s")]
        public string S { get; set; } = "";

        [ColumnName("t")]
        public DateTime T { get; set; }
    }

    // ---- end to end: ML.NET trains on the view ----

    private sealed record Flight(string Date, int Delay, int Distance, string Origin, string Destination);

    private static List<RecordBatch> FlightBatches(int rowsPerBatch)
    {
        var json = File.ReadAllText(Path.Combine(TestContext.CurrentContext.TestDirectory, "data", "flights-20k.json"));
        var flights = JsonSerializer.Deserialize<List<Flight>>(json, new JsonSerializerOptions(JsonSerializerDefaults.Web))!;
        return flights.Chunk(rowsPerBatch).Select(chunk =>
        {
            var dates = chunk.Select(f => new DateTimeOffset(DateTime.ParseExact(f.Date, "yyyy/MM/dd HH:mm", CultureInfo.InvariantCulture), TimeSpan.Zero)).ToList();
            return Batch(
                ("date", new TimestampArray.Builder(TimeUnit.Microsecond, "UTC").AppendRange(dates).Build()),
                ("hour", new Int32Array.Builder().AppendRange(dates.Select(d => d.Hour)).Build()),
                ("distance", new Int64Array.Builder().AppendRange(chunk.Select(f => (long)f.Distance)).Build()),
                ("origin", new StringArray.Builder().AppendRange(chunk.Select(f => f.Origin)).Build()),
                ("delayed", new BooleanArray.Builder().AppendRange(chunk.Select(f => f.Delay > 15)).Build()));
        }).ToList();
    }

    [Test]
    public void FastTree_TrainedOnFlightsView_BeatsChance()
    {
        var batches = FlightBatches(rowsPerBatch: 4096);
        var view = new ArrowDataView(batches, numbersAsSingle: true);
        Assert.That(view.GetRowCount(), Is.EqualTo(20_000));

        var ml = new MLContext(seed: 1);
        var pipeline = ml.Transforms.Concatenate("Features", "distance", "hour")
            .Append(ml.BinaryClassification.Trainers.FastTree(labelColumnName: "delayed", featureColumnName: "Features", numberOfTrees: 20, numberOfLeaves: 8));
        var model = pipeline.Fit(view);
        var metrics = ml.BinaryClassification.Evaluate(model.Transform(view), labelColumnName: "delayed");
        TestContext.Out.WriteLine($"AUC on the training view: {metrics.AreaUnderRocCurve:F3}");
        Assert.That(metrics.AreaUnderRocCurve, Is.GreaterThan(0.5));

        var first = ml.Data.CreateEnumerable<FlightRow>(view, reuseRowObject: false).First();
        Assert.That((first.Date, first.Hour, first.Distance, first.Origin, first.Delayed),
            Is.EqualTo((new DateTime(2001, 1, 1, 0, 47, 0, DateTimeKind.Utc), 0f, 1750f, "DTW", true)));
    }

    private sealed class FlightRow
    {
        [ColumnName("date")]
        public DateTime Date { get; set; }

        [ColumnName("hour")]
        public float Hour { get; set; }

        [ColumnName("distance")]
        public float Distance { get; set; }

        [ColumnName("origin")]
        public string Origin { get; set; } = "";

        [ColumnName("delayed")]
        public bool Delayed { get; set; }
    }
}
