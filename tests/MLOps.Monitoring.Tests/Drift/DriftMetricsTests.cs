using Apache.Arrow;
using MLOps.Monitoring.Drift;

namespace MLOps.Monitoring.Tests.Drift;

public class DriftMetricsTests
{
    [Test]
    public void Compare_ShuffledInputs_SameMetricsAsBruteForceOnSortedInputs()
    {
        for (int seed = 0; seed < 200; seed++)
        {
            var random = new Random(seed);
            int nr = random.Next(1, 300), nc = random.Next(1, 300), levels = random.Next(2, 40);
            double[] reference = Enumerable.Range(0, nr).Select(_ => random.Next(0, 5) == 0 ? double.NaN : random.Next(0, levels) * 0.5).ToArray();
            double[] current = Enumerable.Range(0, nc).Select(_ => random.Next(0, 9) == 0 ? double.NaN : random.Next(-3, levels + 3) * 0.5).ToArray();
            if (reference.All(double.IsNaN)) reference[0] = 1;
            var options = new NumericReferenceOptions { Bins = random.Next(1, 25) };
            var sortedRef = NumericReference.Create("x", reference.OrderBy(v => v).ToArray(), options);
            var expected = DriftMetrics.Compare(sortedRef, current.OrderBy(v => v).ToArray(), sampleTests: true);
            var actual = DriftMetrics.Compare(NumericReference.Create("x", Shuffle(reference, random), options), Shuffle(current, random), sampleTests: true);

            Assert.That(actual.Counts, Is.EqualTo(expected.Counts), $"seed {seed}");
            Assert.That(actual.Counts, Is.EqualTo(BruteForceCounts(sortedRef.Edges.ToArray(), current)), $"seed {seed}: counts vs brute force");
            Assert.That(actual.TotalVariation, Is.EqualTo(expected.TotalVariation).Within(1e-12), $"seed {seed}");
            Assert.That(actual.Hellinger, Is.EqualTo(expected.Hellinger).Within(1e-12), $"seed {seed}");
            Assert.That(actual.SymmetricKullbackLeibler, Is.EqualTo(expected.SymmetricKullbackLeibler).Within(1e-12), $"seed {seed}");
            Assert.That(actual.PopulationStability, Is.EqualTo(expected.PopulationStability).Within(1e-12), $"seed {seed}");
            Assert.That(actual.JensenShannon, Is.EqualTo(expected.JensenShannon).Within(1e-12), $"seed {seed}");
            Assert.That(actual.KolmogorovSmirnov, Is.EqualTo(expected.KolmogorovSmirnov), $"seed {seed}");
            Assert.That(actual.KolmogorovSmirnov!.Value.Statistic, Is.EqualTo(BruteForceKs(reference, current)).Within(1e-12), $"seed {seed}: KS vs brute force");
            Assert.That(actual.Wasserstein!.Value, Is.EqualTo(expected.Wasserstein!.Value).Within(1e-9), $"seed {seed}");
        }
    }

    [Test]
    public void Create_ReferenceLargerThanSampleSize_SeededSampleOfThatSize()
    {
        double[] values = Enumerable.Range(0, 50_000).Select(i => (double)i).ToArray();
        var options = new NumericReferenceOptions { SampleSize = 1000, Seed = 7 };

        var a = NumericReference.Create("x", values, options);
        var b = NumericReference.Create("x", values, options);
        var c = NumericReference.Create("x", values, options with { Seed = 8 });
        var result = DriftMetrics.Compare(a, values.AsSpan(0, 100), sampleTests: true);

        Assert.That(a.SampleSize, Is.EqualTo(1000));
        Assert.That(result.ReferenceSampleSize, Is.EqualTo(1000));
        Assert.That(a.Sample.ToArray(), Is.EqualTo(b.Sample.ToArray()));
        Assert.That(a.Sample.ToArray(), Is.Not.EqualTo(c.Sample.ToArray()));
        Assert.That(a.Sample.ToArray(), Is.Ordered);
        Assert.That(a.Sample.ToArray().Distinct().Count(), Is.EqualTo(1000));
        Assert.That(a.Sample.ToArray().Max(), Is.GreaterThan(40_000), "a reservoir sample spans the whole reference");
    }

    [Test]
    public void Compare_ArrowColumnWithNulls_SameAsSpanWithNaN()
    {
        double[] reference = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
        var refStats = NumericReference.Create("x", new Int64Array.Builder().AppendRange([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]).AppendNull().Build());
        var arrow = new DoubleArray.Builder().Append(2.5).AppendNull().Append(11).Append(-1).Append(5).Build();

        var fromArrow = DriftMetrics.Compare(refStats, arrow, sampleTests: true);
        var fromSpan = DriftMetrics.Compare(NumericReference.Create("x", reference), [2.5, double.NaN, 11, -1, 5], sampleTests: true);

        Assert.That(refStats.MissingCount, Is.EqualTo(1));
        Assert.That(fromArrow, Is.EqualTo(fromSpan with { Counts = fromArrow.Counts }));
        Assert.That(fromArrow.Counts, Is.EqualTo(fromSpan.Counts));
        Assert.That(fromArrow.MissingCount, Is.EqualTo(1));
        Assert.That(fromArrow.Counts[0], Is.EqualTo(1), "below the reference minimum: the open lower bin");
        Assert.That(fromArrow.Counts[^1], Is.EqualTo(1), "above the reference maximum: the open upper bin");
    }

    [Test]
    public void GeneralDrift_TwoFeatures_MeanOfTvdMeanAndHellingerMean()
    {
        var a = DriftMetrics.Compare(NumericReference.Create("a", [1, 2, 3, 4]), [1, 1, 2, 9]);
        var b = DriftMetrics.Compare(NumericReference.Create("b", [0, 10]), [5, 5]);
        var empty = DriftMetrics.Compare(NumericReference.Create("c", [0, 10]), ReadOnlySpan<double>.Empty);

        double general = DriftMetrics.GeneralDrift([a, b, empty]);

        Assert.That(general, Is.EqualTo(((a.TotalVariation + b.TotalVariation) / 2 + (a.Hellinger + b.Hellinger) / 2) / 2).Within(1e-15));
        Assert.That(empty.TotalVariation, Is.NaN);
        Assert.That(DriftMetrics.GeneralDrift([empty]), Is.NaN);
    }

    [Test]
    public void Create_ZeroBins_ValidationNamingBins()
    {
        var e = Assert.Throws<ValidationException>(() => NumericReference.Create("delay", [1.0, 2.0], new NumericReferenceOptions { Bins = 0 }));
        Assert.That(e!.Message, Does.Contain("Bins").And.Contain("0").And.Contain("at least 1"));
    }

    [Test]
    public void Create_ZeroSampleSize_ValidationNamingSampleSize()
    {
        var e = Assert.Throws<ValidationException>(() => NumericReference.Create("delay", [1.0, 2.0], new NumericReferenceOptions { SampleSize = 0 }));
        Assert.That(e!.Message, Does.Contain("SampleSize").And.Contain("0"));
    }

    [Test]
    public void Create_NoFiniteReferenceValue_ValidationNamingFeature()
    {
        var e = Assert.Throws<ValidationException>(() => NumericReference.Create("delay", [double.NaN, double.PositiveInfinity]));
        Assert.That(e!.Message, Does.Contain("'delay'").And.Contain("no finite number").And.Contain("2 values"));
        Assert.Throws<ValidationException>(() => NumericReference.Create("delay", ReadOnlySpan<double>.Empty));
    }

    [Test]
    public void Create_StringArrowColumn_ValidationNamingType()
    {
        var column = new StringArray.Builder().Append("a").Build();
        var e = Assert.Throws<ValidationException>(() => NumericReference.Create("origin", column));
        Assert.That(e!.Message, Does.Contain("'origin'").And.Contain("utf8").IgnoreCase);
    }

    [Test]
    public void CategoricalCreate_AllMissing_ValidationNamingFeature()
    {
        var e = Assert.Throws<ValidationException>(() => CategoricalReference.Create("origin", [null, null]));
        Assert.That(e!.Message, Does.Contain("'origin'").And.Contain("all missing"));
    }

    [Test]
    public void TotalVariation_MismatchedLengths_ValidationNamingBoth()
    {
        var e = Assert.Throws<ValidationException>(() => DistributionDistance.TotalVariation([0.5, 0.5], [1.0]));
        Assert.That(e!.Message, Does.Contain("'q' has 1").And.Contain("'p' has 2"));
    }

    private static double[] Shuffle(double[] values, Random random)
    {
        var copy = (double[])values.Clone();
        random.Shuffle(copy);
        return copy;
    }

    private static long[] BruteForceCounts(double[] edges, double[] current)
    {
        var counts = new long[edges.Length + 1];
        foreach (double v in current.Where(v => !double.IsNaN(v)))
        {
            if (v < edges[0]) counts[0]++;
            else if (v > edges[^1]) counts[^1]++;
            else
            {
                int bin = Enumerable.Range(0, edges.Length - 1).Last(i => v >= edges[i]);
                counts[bin + 1]++;
            }
        }
        return counts;
    }

    private static double BruteForceKs(double[] a, double[] b)
    {
        a = a.Where(v => !double.IsNaN(v)).ToArray();
        b = b.Where(v => !double.IsNaN(v)).ToArray();
        return a.Concat(b).Max(x => Math.Abs((double)a.Count(v => v <= x) / a.Length - (double)b.Count(v => v <= x) / b.Length));
    }
}
