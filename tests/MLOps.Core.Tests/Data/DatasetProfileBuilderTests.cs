using Apache.Arrow;
using MLOps.Artifacts;

namespace MLOps.Core.Tests.Data;

[Parallelizable(ParallelScope.All)]
public sealed class DatasetProfileBuilderTests
{
    private static RecordBatch Batch(int n, int offset) => new RecordBatch.Builder()
        .Append("x", false, c => c.Double(b => b.AppendRange(Enumerable.Range(offset, n).Select(i => (double)((i * 7919) % 1000)))))
        .Append("y", false, c => c.Int64(b => b.AppendRange(Enumerable.Range(offset, n).Select(i => (long)(i % 13)))))
        .Build();

    [Test]
    public void Build_LargeSampleInParallelColumns_EqualsSortedOracleAndIsStable()
    {
        var builder = new DatasetProfileBuilder("test");
        for (var b = 0; b < 5; b++) builder.Add(Batch(30_000, b * 30_000));

        var profile = builder.Build();

        var x = Enumerable.Range(0, 150_000).Select(i => (double)((i * 7919) % 1000)).Order().ToArray();
        var stats = profile.Statistics.Single(s => s.Name == "x");
        Assert.That(stats.Count, Is.EqualTo(150_000));
        Assert.That(stats.Min, Is.EqualTo(x[0]));
        Assert.That(stats.Max, Is.EqualTo(x[^1]));
        Assert.That(stats.P50, Is.EqualTo(x[(x.Length - 1) / 2] + (x[(x.Length - 1) / 2 + 1] - x[(x.Length - 1) / 2]) * 0.5));
        Assert.That(stats.Mean, Is.EqualTo(x.Average()).Within(1e-9));
        Assert.That(profile.Statistics.Single(s => s.Name == "y").Max, Is.EqualTo(12));
        Assert.That(builder.Build(), Is.SameAs(profile), "a second Build returns the same profile");
    }

    [Test]
    public void Add_AfterBuild_Throws()
    {
        var builder = new DatasetProfileBuilder("test");
        builder.Add(Batch(10, 0));
        builder.Build();
        Assert.Throws<InvalidStateException>(() => builder.Add(Batch(10, 10)));
    }
}
