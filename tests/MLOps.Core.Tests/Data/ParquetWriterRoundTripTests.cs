using Apache.Arrow;
using Apache.Arrow.Types;
using MLOps.Artifacts;

namespace MLOps.Core.Tests.Data;

/// <summary>The Parquet writer's bulk paths (pooled buffers, strings as character slices) write what the batches hold.</summary>
[Parallelizable(ParallelScope.All)]
public sealed class ParquetWriterRoundTripTests
{
    [Test]
    public async Task WriteParquetAsync_StringsWithNullsUnicodeAndSlices_ReadBackTheSame()
    {
        var random = new Random(7);
        var words = new[] { "SFO", "", "ünïcode", "日本語テキスト", "a\"quoted\"", "emoji 😀" };
        var expected = new List<(string? Text, double? Number, string? Coded)>();
        var batches = new List<RecordBatch>();
        var codedType = new DictionaryType(Int32Type.Default, StringType.Default, false);
        var dictionary = new StringArray.Builder().AppendRange(words).Build();
        for (var b = 0; b < 3; b++)
        {
            var n = 1000 + b * 777;
            var text = new StringArray.Builder();
            var number = new DoubleArray.Builder();
            var codes = new Int32Array.Builder();
            for (var i = 0; i < n + 5; i++)
            {
                var t = random.Next(7) == 0 ? null : words[random.Next(words.Length)] + i;
                var d = random.Next(5) == 0 ? (double?)null : random.NextDouble() * 100 - 50;
                var c = random.Next(6) == 0 ? (int?)null : random.Next(words.Length);
                if (t is null) text.AppendNull(); else text.Append(t);
                if (d is null) number.AppendNull(); else number.Append(d.Value);
                if (c is null) codes.AppendNull(); else codes.Append(c.Value);
                if (i >= 5) expected.Add((t, d, c is null ? null : words[c.Value]));
            }

            var schema = new Schema.Builder()
                .Field(f => f.Name("text").DataType(StringType.Default).Nullable(true))
                .Field(f => f.Name("number").DataType(DoubleType.Default).Nullable(true))
                .Field(f => f.Name("coded").DataType(codedType).Nullable(true)).Build();
            var full = new RecordBatch(schema, [text.Build(), number.Build(), new DictionaryArray(codedType, codes.Build(), dictionary)], n + 5);
            batches.Add(full.Slice(5, n)); // a slice: the arrays start at an offset
        }

        using var folder = new TempFolder();
        var path = folder.File("t.parquet");
        await using (var stream = File.Create(path))
            await DatasetWriter.WriteParquetAsync(batches, stream, CancellationToken.None);

        var actual = new List<(string? Text, double? Number, string? Coded)>();
        await foreach (var batch in DatasetReader.ReadAsync(path, DatasetFormat.Parquet))
        {
            using (batch)
            {
                var text = (StringArray)batch.Column(0);
                var number = (DoubleArray)batch.Column(1);
                var coded = (StringArray)batch.Column(2);
                for (var i = 0; i < batch.Length; i++)
                    actual.Add((text.GetString(i), number.GetValue(i), coded.GetString(i)));
            }
        }

        Assert.That(actual, Is.EqualTo(expected));
    }
}
