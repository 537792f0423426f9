using System.Text.Json;
using MLOps.Monitoring.Performance;
using MLOps.Monitoring.Tests.Drift;

namespace MLOps.Monitoring.Tests.Performance;

/// <summary>PerformanceMetrics against scikit-learn (tests/oracles/performance: make_performance_oracle.py and the JSON it wrote),
/// to 1e-9 as the drift oracle.</summary>
[Parallelizable(ParallelScope.All)]
public sealed class PerformanceMetricsOracleTests
{
    private static readonly Lazy<JsonElement> Root = new(Load);

    public static IEnumerable<string> BinaryNames => Names("binary");

    public static IEnumerable<string> MulticlassNames => Names("multiclass");

    public static IEnumerable<string> RegressionNames => Names("regression");

    [Test]
    public void Oracle_CoversRealFlightsAndEdgeCases()
    {
        Assert.That(BinaryNames, Does.Contain("flights_hour_rule").And.Contain("single_class").And.Contain("all_tied_scores").And.Contain("no_positive_prediction"));
        Assert.That(MulticlassNames, Does.Contain("flights_delay_buckets").And.Contain("predicted_class_never_labelled"));
        Assert.That(RegressionNames, Does.Contain("flights_delay_from_hour").And.Contain("constant_actual_wrong").And.Contain("single_row"));
    }

    [TestCaseSource(nameof(BinaryNames))]
    public void BinaryClassification_OracleCase_MatchesScikitLearn(string name)
    {
        var c = Case("binary", name);
        bool[] actual = Bools(c.GetProperty("actual")), predicted = Bools(c.GetProperty("predicted"));

        var metrics = PerformanceMetrics.BinaryClassification<bool>(actual, predicted, true);

        DriftOracle.AssertClose(metrics.Accuracy, DriftOracle.Number(c, "accuracy"), $"{name} accuracy");
        DriftOracle.AssertClose(PerformanceMetrics.Accuracy<bool>(actual, predicted), DriftOracle.Number(c, "accuracy"), $"{name} Accuracy()");
        DriftOracle.AssertClose(metrics.Precision, DriftOracle.Number(c, "precision"), $"{name} precision");
        DriftOracle.AssertClose(metrics.Recall, DriftOracle.Number(c, "recall"), $"{name} recall");
        DriftOracle.AssertClose(metrics.F1, DriftOracle.Number(c, "f1"), $"{name} f1");
        DriftOracle.AssertClose(PerformanceMetrics.RocAuc(actual, DriftOracle.Doubles(c.GetProperty("scores"))), DriftOracle.Number(c, "roc_auc"), $"{name} roc_auc");
        DriftOracle.AssertClose(PerformanceMetrics.LogLoss(actual, DriftOracle.Doubles(c.GetProperty("probabilities"))), DriftOracle.Number(c, "log_loss"), $"{name} log_loss");
    }

    [TestCaseSource(nameof(MulticlassNames))]
    public void MulticlassClassification_OracleCase_MatchesScikitLearn(string name)
    {
        var c = Case("multiclass", name);
        var actual = DriftOracle.Strings(c.GetProperty("actual")).Select(s => s!).ToArray();
        var predicted = DriftOracle.Strings(c.GetProperty("predicted")).Select(s => s!).ToArray();

        var metrics = PerformanceMetrics.MulticlassClassification<string>(actual, predicted);

        Assert.That(metrics.ClassCount, Is.EqualTo(c.GetProperty("class_count").GetInt32()));
        DriftOracle.AssertClose(metrics.Accuracy, DriftOracle.Number(c, "accuracy"), $"{name} accuracy");
        DriftOracle.AssertClose(metrics.MacroPrecision, DriftOracle.Number(c, "precision_macro"), $"{name} precision_macro");
        DriftOracle.AssertClose(metrics.MacroRecall, DriftOracle.Number(c, "recall_macro"), $"{name} recall_macro");
        DriftOracle.AssertClose(metrics.MacroF1, DriftOracle.Number(c, "f1_macro"), $"{name} f1_macro");
    }

    [TestCaseSource(nameof(RegressionNames))]
    public void Regression_OracleCase_MatchesScikitLearn(string name)
    {
        var c = Case("regression", name);

        var metrics = PerformanceMetrics.Regression(DriftOracle.Doubles(c.GetProperty("actual")), DriftOracle.Doubles(c.GetProperty("predicted")));

        DriftOracle.AssertClose(metrics.MeanAbsoluteError, DriftOracle.Number(c, "mae"), $"{name} mae");
        DriftOracle.AssertClose(metrics.RootMeanSquaredError, DriftOracle.Number(c, "rmse"), $"{name} rmse");
        DriftOracle.AssertClose(metrics.R2, DriftOracle.Number(c, "r2"), $"{name} r2");
    }

    private static bool[] Bools(JsonElement array) => array.EnumerateArray().Select(v => v.GetBoolean()).ToArray();

    private static IEnumerable<string> Names(string kind) => Root.Value.GetProperty(kind).EnumerateArray().Select(c => c.GetProperty("name").GetString()!);

    private static JsonElement Case(string kind, string name) => Root.Value.GetProperty(kind).EnumerateArray().Single(c => c.GetProperty("name").GetString() == name);

    private static JsonElement Load()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        const string relative = "tests/oracles/performance/performance_oracle.json";
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, relative)))
            dir = dir.Parent;
        Assert.That(dir, Is.Not.Null, $"{relative} not found above the test binaries");
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir!.FullName, relative)));
        return doc.RootElement.Clone();
    }
}
