using MLOps.Monitoring.Performance;

namespace MLOps.Monitoring.Tests.Performance;

[Parallelizable(ParallelScope.All)]
public sealed class PerformanceMetricsTests
{
    /// <summary>Property test: ROC AUC equals the brute-force share of (positive, negative) pairs ordered right, ties counting
    /// one half, over random samples with many ties.</summary>
    [Test]
    public void RocAuc_RandomSamplesWithTies_EqualsBruteForcePairCount()
    {
        for (int seed = 0; seed < 300; seed++)
        {
            var random = new Random(seed);
            int n = random.Next(2, 120);
            var positive = new bool[n];
            var scores = new double[n];
            for (int i = 0; i < n; i++)
            {
                positive[i] = random.NextDouble() < 0.4;
                scores[i] = random.Next(0, 1 + random.Next(1, 12)) / 4.0 + (positive[i] ? 0.5 : 0);
            }
            positive[0] = true;
            positive[1] = false;
            double pairs = 0, good = 0;
            for (int i = 0; i < n; i++)
                for (int j = 0; j < n; j++)
                    if (positive[i] && !positive[j])
                    {
                        pairs++;
                        good += scores[i] > scores[j] ? 1 : scores[i] == scores[j] ? 0.5 : 0;
                    }

            Assert.That(PerformanceMetrics.RocAuc(positive, scores), Is.EqualTo(good / pairs).Within(1e-12), $"seed {seed}");
        }
    }

    [Test]
    public void RocAuc_OneClassOnly_IsNaN()
    {
        Assert.That(PerformanceMetrics.RocAuc([true, true], [0.2, 0.9]), Is.NaN);
    }

    [Test]
    public void RocAuc_NaNScore_ThrowsValidationNamingTheIndex()
    {
        var ex = Assert.Throws<ValidationException>(() => PerformanceMetrics.RocAuc([true, false, true], [0.2, double.NaN, 0.4]));
        Assert.That(ex!.Message, Does.Contain("scores[1] is NaN"));
    }

    [Test]
    public void BinaryClassification_DifferentLengths_ThrowsValidationNamingBoth()
    {
        var ex = Assert.Throws<ValidationException>(() => PerformanceMetrics.BinaryClassification<bool>([true, false], [true], true));
        Assert.That(ex!.Message, Does.Contain("predicted has 1 values for 2 labels"));
    }

    [Test]
    public void LogLoss_ProbabilityOutsideUnitInterval_ThrowsValidation()
    {
        var ex = Assert.Throws<ValidationException>(() => PerformanceMetrics.LogLoss([true, false], [0.5, 1.5]));
        Assert.That(ex!.Message, Does.Contain("probabilities[1] is 1.5"));
    }

    [Test]
    public void Metrics_NoRow_AreNaN()
    {
        var binary = PerformanceMetrics.BinaryClassification<bool>([], [], true);
        var regression = PerformanceMetrics.Regression([], []);

        Assert.That(new[] { binary.Accuracy, binary.Precision, binary.Recall, binary.F1, regression.MeanAbsoluteError, regression.RootMeanSquaredError, regression.R2,
            PerformanceMetrics.MulticlassClassification<string>([], []).Accuracy, PerformanceMetrics.LogLoss([], []) }, Is.All.NaN);
    }

    [Test]
    public void Regression_NaNValue_ThrowsValidation()
    {
        var ex = Assert.Throws<ValidationException>(() => PerformanceMetrics.Regression([1, 2], [1, double.NaN]));
        Assert.That(ex!.Message, Does.Contain("predicted[1] is NaN"));
    }
}
