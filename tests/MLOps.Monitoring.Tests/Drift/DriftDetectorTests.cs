using Apache.Arrow;
using MLOps.Data;
using MLOps.Monitoring.Applications;
using MLOps.Monitoring.Drift;

namespace MLOps.Monitoring.Tests.Drift;

public class DriftDetectorTests
{
    private static readonly NumericReference Delay = NumericReference.Create("delay", SplitFlights.Reference.Delay, new NumericReferenceOptions { Seed = 1 });
    private static readonly NumericReference Distance = NumericReference.Create("distance", SplitFlights.Reference.Distance, new NumericReferenceOptions { Seed = 1 });

    [Test]
    public void Analyze_BelowMinimumCount_InsufficientDataNeverAGuess()
    {
        double[] shifted = [.. SplitFlights.HeldOut.Delay.Take(99).Select(d => d + 600), double.NaN, double.NaN];
        var analysis = new DriftAnalysis();

        var result = analysis.Analyze(Delay, shifted);
        var lowered = new DriftAnalysis(new DriftOptions { MinimumCount = 50 }).Analyze(Delay, shifted);

        Assert.That(result.Status, Is.EqualTo(ResultStatus.InsufficientData), "99 values (NaN do not count) are below the default minimum of 100");
        Assert.That(result.Count, Is.EqualTo(99));
        Assert.That(result.Message, Does.Contain("below the minimum count 100"));
        Assert.That(lowered.Status, Is.EqualTo(ResultStatus.Detected), "with MinimumCount 50 the same window is decided");
    }

    [Test]
    public void Analyze_PerFeatureOverride_ReplacesTheDefaultForThatFeatureOnly()
    {
        double[] delay = [.. SplitFlights.HeldOut.Delay.Take(2_000).Select(d => d + 60)];
        double[] distance = [.. SplitFlights.HeldOut.Distance.Take(2_000).Select(d => d * 1.5)];
        var analysis = new DriftAnalysis(new DriftOptions { Detectors = new Dictionary<string, DriftDetector> { ["distance"] = DriftDetector.MLRun() } });

        var d = analysis.Analyze(Delay, delay);
        var km = analysis.Analyze(Distance, distance);

        Assert.That(d.Detector, Is.EqualTo(DriftDetector.DefaultNumeric.Name));
        Assert.That(d.Status, Is.EqualTo(ResultStatus.Detected));
        Assert.That(km.Detector, Is.EqualTo("mlrun_drift(>=0.7)"));
        Assert.That(km.Status, Is.Not.EqualTo(ResultStatus.Detected), "MLRun's rule does not see distance x 1.5");
    }

    [TestCase(0.0, ResultStatus.Detected)]
    [TestCase(0.5, ResultStatus.Detected)]
    [TestCase(0.75, ResultStatus.Possible)]
    public void Summarize_DetectedShare_EndpointStatusFromTheShareOfDetectedFeatures(double share, ResultStatus expected)
    {
        var analysis = new DriftAnalysis(new DriftOptions { DetectedShare = share });
        var held = SplitFlights.HeldOut;
        var features = new[]
        {
            analysis.Analyze(Delay, [.. held.Delay.Take(2_000).Select(d => d + 60)]),
            analysis.Analyze(Distance, held.Distance.AsSpan(0, 2_000)),
            analysis.Analyze(Distance, held.Distance.AsSpan(0, 10), "tiny"),
        };

        var report = analysis.Summarize(features);

        Assert.That(features.Select(f => f.Status), Is.EqualTo(new[] { ResultStatus.Detected, ResultStatus.None, ResultStatus.InsufficientData }));
        Assert.That(report.DetectedShare, Is.EqualTo(0.5), "1 of the 2 decided features (the one with 10 values is not decided)");
        Assert.That(report.Status, Is.EqualTo(expected));
        Assert.That(report.GeneralDrift, Is.EqualTo(features.Average(f => f.Numeric!.TotalVariation) / 2 + features.Average(f => f.Numeric!.Hellinger) / 2).Within(1e-12));
    }

    [Test]
    public void Summarize_NoDecidedFeature_InsufficientData()
    {
        var analysis = new DriftAnalysis();
        var report = analysis.Summarize([analysis.Analyze(Delay, SplitFlights.HeldOut.Delay.AsSpan(0, 5))]);

        Assert.That(report.Status, Is.EqualTo(ResultStatus.InsufficientData));
        Assert.That(report.DetectedShare, Is.NaN);
    }

    [Test]
    public void Validate_SeveralProblems_ListsEveryOne()
    {
        var options = new DriftOptions
        {
            MinimumCount = 0,
            DetectedShare = 1.5,
            NumericDetector = DriftDetector.ChiSquare(),
            CategoricalDetector = DriftDetector.KolmogorovSmirnov(),
            Features = ["delay", " "],
            OutputReferences = new Dictionary<string, string> { ["PredictedLabel"] = "" },
            Reference = new NumericReferenceOptions { Bins = 0 },
        };

        var error = Assert.Throws<ValidationException>(() => new DriftAnalysis(options))!;

        Assert.That(error.Message, Does.Contain("7 problems"));
        Assert.That(error.Message, Does.Contain("MinimumCount is 0"));
        Assert.That(error.Message, Does.Contain("DetectedShare is 1.5"));
        Assert.That(error.Message, Does.Contain("NumericDetector is chi2(p<0.01)"));
        Assert.That(error.Message, Does.Contain("CategoricalDetector is ks(p<0.01)"));
        Assert.That(error.Message, Does.Contain("Features holds a blank name"));
        Assert.That(error.Message, Does.Contain("'PredictedLabel' -> ''"));
        Assert.That(error.Message, Does.Contain("Reference.Bins is 0"));
    }

    [Test]
    public void Factories_InvalidThresholds_ValidationExceptionNamingTheArgument()
    {
        Assert.That(Assert.Throws<ValidationException>(() => DriftDetector.KolmogorovSmirnov(1.5))!.Message, Does.Contain("alpha is 1.5"));
        Assert.That(Assert.Throws<ValidationException>(() => DriftDetector.MannWhitney(0.01, 0.001))!.Message, Does.Contain("possibleAlpha is 0.001"));
        Assert.That(Assert.Throws<ValidationException>(() => DriftDetector.PopulationStability(0.3, 0.2))!.Message, Does.Contain("out of order"));
        Assert.That(Assert.Throws<ValidationException>(() => DriftDetector.PooledChiSquare(unseenShare: 0))!.Message, Does.Contain("unseenShare is 0"));
        Assert.That(Assert.Throws<ValidationException>(() => DriftDetector.BySize(DriftDetector.DefaultNumeric, DriftDetector.MLRun(), 0))!.Message, Does.Contain("switchCount is 0"));
        Assert.Throws<ValidationException>(() => DriftDetector.AnyOf());
    }

    [Test]
    public void Analyze_OverrideOfTheWrongKind_ValidationExceptionNamingTheFeature()
    {
        var analysis = new DriftAnalysis(new DriftOptions { Detectors = new Dictionary<string, DriftDetector> { ["delay"] = DriftDetector.ChiSquare() } });

        var error = Assert.Throws<ValidationException>(() => analysis.Analyze(Delay, SplitFlights.HeldOut.Delay.AsSpan(0, 200)))!;

        Assert.That(error.Message, Does.Contain("Detectors['delay']"));
    }

    [Test]
    public void BySize_SwitchCount_SmallWindowsUseTheTestLargeOnesThePsi()
    {
        var small = new DriftAnalysis().Analyze(Delay, SplitFlights.HeldOut.Delay.AsSpan(0, 999));
        var large = new DriftAnalysis().Analyze(Delay, SplitFlights.HeldOut.Delay.AsSpan(0, 1_000));

        Assert.That(small.Statistic, Is.AnyOf("ks_pvalue", "mw_pvalue"));
        Assert.That(small.Numeric!.KolmogorovSmirnov, Is.Not.Null, "the test needs the sample tests");
        Assert.That(large.Statistic, Is.EqualTo("psi"));
        Assert.That(large.Numeric!.KolmogorovSmirnov, Is.Null, "PSI needs no sort of the window");
        Assert.That(large.Statistics()["psi"], Is.EqualTo(large.Numeric.PopulationStability));
    }

    [Test]
    public void MannWhitney_RandomSamplesWithTies_SameAsBruteForcePairCounting()
    {
        for (int seed = 0; seed < 300; seed++)
        {
            var random = new Random(seed);
            int n1 = random.Next(1, 80), n2 = random.Next(1, 80), levels = random.Next(1, 12);
            double[] a = [.. Enumerable.Range(0, n1).Select(_ => (double)random.Next(levels))];
            double[] b = [.. Enumerable.Range(0, n2).Select(_ => (double)random.Next(levels) + (seed % 3 == 0 ? 1 : 0))];
            var reference = NumericReference.Create("x", a, new NumericReferenceOptions { SampleSize = 1_000 });

            var actual = DriftMetrics.Compare(reference, b, sampleTests: true).MannWhitney!.Value;

            // brute force: U counts the pairs where the reference value is larger, ties as one half; variance with the tie term
            double u = 0;
            foreach (double x in a) foreach (double y in b) u += x > y ? 1 : x == y ? 0.5 : 0;
            double n = n1 + n2, mean = n1 * n2 / 2.0;
            double tie = a.Concat(b).GroupBy(v => v).Sum(g => Math.Pow(g.Count(), 3) - g.Count());
            double variance = n1 * n2 / 12.0 * ((n + 1) - tie / (n * (n - 1)));
            Assert.That(actual.Statistic, Is.EqualTo(u).Within(1e-9), $"seed {seed}: U");
            if (variance <= 0)
            {
                Assert.That(actual.PValue, Is.EqualTo(1), $"seed {seed}: all values tied");
                continue;
            }
            double z = (Math.Max(u, n1 * n2 - u) - mean - 0.5) / Math.Sqrt(variance);
            double p = z <= 0 ? 1 : Math.Min(1, 2 * NormalSurvival(z));
            Assert.That(actual.PValue, Is.EqualTo(p).Within(1e-9), $"seed {seed}: p");
        }
    }

    [Test]
    public void FromHistogram_ProfileReference_SampleTestsUnavailableSaidSoPsiDecides()
    {
        var batch = new RecordBatch.Builder()
            .Append("distance", false, c => c.Double(a => a.AppendRange(SplitFlights.Reference.Distance)))
            .Build();
        var profile = DatasetProfiler.Profile([batch], "arrow");
        var references = DriftReferences.FromProfile(profile);
        var reference = references.Numeric["distance"];
        var analysis = new DriftAnalysis();

        var small = analysis.Analyze(reference, [.. SplitFlights.HeldOut.Distance.Take(500).Select(d => d * 1.5)]);
        var large = analysis.Analyze(reference, [.. SplitFlights.HeldOut.Distance.Take(2_000).Select(d => d * 1.5)]);
        var same = analysis.Analyze(reference, SplitFlights.HeldOut.Distance.AsSpan(0, 2_000));

        Assert.That(reference.SampleSize, Is.Zero);
        Assert.That(reference.Counts.ToArray().Sum(), Is.EqualTo(SplitFlights.Reference.Distance.Length));
        Assert.That(small.Status, Is.EqualTo(ResultStatus.InsufficientData), "the small-window tests need the sample the profile does not have");
        Assert.That(small.Message, Does.Contain("no sample"));
        Assert.That(large.Status, Is.EqualTo(ResultStatus.Detected));
        Assert.That(same.Status, Is.EqualTo(ResultStatus.None));
        Assert.That(large.Numeric!.PopulationStability, Is.EqualTo(DriftMetrics.Compare(Distance, [.. SplitFlights.HeldOut.Distance.Take(2_000).Select(d => d * 1.5)]).PopulationStability).Within(1e-12),
            "the profile's histogram has the same edges and counts as the reference built from the values");
    }

    [Test]
    public void FromProfile_NumericColumnWithoutHistogram_ValidationExceptionNamingTheFeature()
    {
        var batch = new RecordBatch.Builder()
            .Append("delay", true, c => c.Double(a => a.AppendNull().AppendNull()))
            .Build();
        var profile = DatasetProfiler.Profile([batch], "arrow");

        var error = Assert.Throws<ValidationException>(() => DriftReferences.FromProfile(profile))!;

        Assert.That(error.Message, Does.Contain("feature 'delay'"));
        Assert.That(error.Message, Does.Contain("no numeric histogram"));
    }

    [Test]
    public void FromBatches_NumericColumnWithoutAFiniteValue_ValidationExceptionNamingTheFeature()
    {
        var batch = new RecordBatch.Builder()
            .Append("distance", false, c => c.Double(a => a.AppendRange([1.0, 2.0])))
            .Append("delay", false, c => c.Double(a => a.AppendRange([double.NaN, double.NaN])))
            .Build();

        var error = Assert.Throws<ValidationException>(() => DriftReferences.FromBatches([batch]))!;

        Assert.That(error.Message, Does.Contain("feature 'delay'").And.Contain("no finite number"));
    }

    [Test]
    public void FromProfile_ConstantColumn_WidenedLikeNumpyWithEveryValueInTheMiddleBin()
    {
        var batch = new RecordBatch.Builder()
            .Append("hour", false, c => c.Double(a => a.AppendRange(Enumerable.Repeat(7.0, 50))))
            .Append("origin", false, c => c.String(a => a.AppendRange(Enumerable.Repeat("ORD", 50))))
            .Build();

        var references = DriftReferences.FromProfile(DatasetProfiler.Profile([batch], "arrow"));
        var fromValues = NumericReference.Create("hour", Enumerable.Repeat(7.0, 50).ToArray());

        var hour = references.Numeric["hour"];
        Assert.That(hour.Edges.ToArray(), Is.EqualTo(fromValues.Edges.ToArray()));
        Assert.That(hour.Counts.ToArray(), Is.EqualTo(fromValues.Counts.ToArray()));
        Assert.That(references.Categorical["origin"].Counts["ORD"], Is.EqualTo(50));
        Assert.That(references.Columns, Is.EqualTo(new[] { "hour", "origin" }));
    }

    [Test]
    public void FromTopValues_UnlistedCategories_PooledIntoOtherNeverCalledUnseen()
    {
        var reference = CategoricalReference.FromTopValues("origin", [KeyValuePair.Create("ORD", 50L), KeyValuePair.Create("ATL", 30L)], count: 100);
        var result = DriftMetrics.Compare(reference, ["ORD", "ATL", "XYZ", "XYZ"]);

        Assert.That(reference.OtherCount, Is.EqualTo(20));
        Assert.That(reference.IsComplete, Is.False);
        Assert.That(result.UnseenCount, Is.Zero);
        Assert.That(result.TotalVariation, Is.EqualTo((Math.Abs(0.5 - 0.25) + Math.Abs(0.3 - 0.25) + Math.Abs(0.2 - 0.5)) / 2).Within(1e-12));
    }

    [Test]
    public void PooledChiSquare_TinyButRealDifferenceInAHugeWindow_NotDetected()
    {
        // reference 50/50; window 50.5/49.5 over a million rows: significant, but a total variation of 0.005 is below the minimum effect
        var reference = CategoricalReference.FromTopValues("side", [KeyValuePair.Create("a", 500_000L), KeyValuePair.Create("b", 500_000L)], count: 1_000_000);
        string?[] window = [.. Enumerable.Range(0, 1_000_000).Select(i => i < 505_000 ? "a" : "b")];

        var pooled = new DriftAnalysis().Analyze(reference, window);
        var plain = new DriftAnalysis(new DriftOptions { CategoricalDetector = DriftDetector.ChiSquare(0.001) }).Analyze(reference, window);

        Assert.That(plain.Status, Is.EqualTo(ResultStatus.Detected));
        Assert.That(pooled.Status, Is.EqualTo(ResultStatus.None), pooled.Message);
        Assert.That(pooled.Message, Does.Contain("minimum effect"));
    }

    [Test]
    public void AnyOf_OneDetects_DetectedWithItsStatistic()
    {
        var window = SplitFlights.HeldOut.Distance.Take(300).Select(d => d * 1.5).ToArray();
        var detector = DriftDetector.AnyOf(DriftDetector.MLRun(), DriftDetector.KolmogorovSmirnov(0.001));
        var result = new DriftAnalysis(new DriftOptions { NumericDetector = detector }).Analyze(Distance, window);

        Assert.That(result.Status, Is.EqualTo(ResultStatus.Detected));
        Assert.That(result.Statistic, Is.EqualTo("ks_pvalue"));
        Assert.That(result.Message, Does.Contain("mlrun_drift").And.Contain("ks_pvalue"));
    }

    private static double NormalSurvival(double z)
    {
        // complementary error function by its continued fraction-free series (Abramowitz-Stegun 7.1.26 is too coarse): integrate numerically
        double x = z / Math.Sqrt(2), sum = 0, step = 1e-4;
        for (double t = x; t < x + 40; t += step)
            sum += step * (Math.Exp(-t * t) + 4 * Math.Exp(-(t + step / 2) * (t + step / 2)) + Math.Exp(-(t + step) * (t + step))) / 6;
        return sum / Math.Sqrt(Math.PI);
    }
}
