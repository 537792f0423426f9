namespace MLOps.Monitoring.Performance;

/// <summary>
/// Model-quality metrics against ground truth, exactly as scikit-learn computes them (checked against scikit-learn 1.2 to
/// 1e-9 by the oracle in <c>tests/oracles/performance/</c>): accuracy, precision, recall and F1 (binary with a positive class,
/// macro averages for several classes), ROC AUC from scores (ties averaged, as <c>roc_auc_score</c>), log loss, and MAE, RMSE
/// and R² for regressors.
/// </summary>
/// <remarks>A ratio whose denominator is zero (precision with no positive prediction, recall with no positive label) is 0, as
/// scikit-learn's <c>zero_division</c> default gives; an empty input gives NaN everywhere (scikit-learn refuses it).</remarks>
public static class PerformanceMetrics
{
    /// <summary>The <c>eps</c> log loss clips probabilities with: <c>numpy.finfo(float64).eps</c>.</summary>
    public const double LogLossEpsilon = 2.220446049250313e-16;

    /// <summary>The share of rows whose prediction equals the label (scikit-learn's <c>accuracy_score</c>).</summary>
    /// <typeparam name="T">The class type.</typeparam>
    /// <param name="actual">The labels.</param>
    /// <param name="predicted">The predictions, one per label.</param>
    /// <returns>The accuracy, NaN for no row.</returns>
    /// <exception cref="ValidationException">The spans have different lengths.</exception>
    public static double Accuracy<T>(ReadOnlySpan<T> actual, ReadOnlySpan<T> predicted)
    {
        SameLength(actual.Length, predicted.Length, "predicted");
        if (actual.Length == 0) return double.NaN;
        var comparer = EqualityComparer<T>.Default;
        long correct = 0;
        for (int i = 0; i < actual.Length; i++)
            if (comparer.Equals(actual[i], predicted[i])) correct++;
        return (double)correct / actual.Length;
    }

    /// <summary>The confusion counts of a binary classifier, from which accuracy, precision, recall and F1 follow (scikit-learn's
    /// <c>precision_score</c>, <c>recall_score</c>, <c>f1_score</c> with <c>pos_label</c>): every class other than
    /// <paramref name="positiveClass"/> is negative.</summary>
    /// <typeparam name="T">The class type.</typeparam>
    /// <param name="actual">The labels.</param>
    /// <param name="predicted">The predictions, one per label.</param>
    /// <param name="positiveClass">The positive class.</param>
    /// <returns>The metrics.</returns>
    /// <exception cref="ValidationException">The spans have different lengths.</exception>
    public static BinaryClassificationMetrics BinaryClassification<T>(ReadOnlySpan<T> actual, ReadOnlySpan<T> predicted, T positiveClass)
    {
        SameLength(actual.Length, predicted.Length, "predicted");
        var comparer = EqualityComparer<T>.Default;
        long tp = 0, fp = 0, tn = 0, fn = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            bool isPositive = comparer.Equals(actual[i], positiveClass), predictedPositive = comparer.Equals(predicted[i], positiveClass);
            if (predictedPositive)
            {
                if (isPositive) tp++;
                else fp++;
            }
            else if (isPositive) fn++;
            else tn++;
        }
        return new BinaryClassificationMetrics(tp, fp, tn, fn);
    }

    /// <summary>Accuracy and the macro averages of precision, recall and F1 over every class seen in the labels or the predictions
    /// (scikit-learn's <c>average='macro'</c>: the unweighted mean of the per-class values; a class's F1 is
    /// 2 TP / (2 TP + FP + FN)).</summary>
    /// <typeparam name="T">The class type.</typeparam>
    /// <param name="actual">The labels.</param>
    /// <param name="predicted">The predictions, one per label.</param>
    /// <returns>The metrics.</returns>
    /// <exception cref="ValidationException">The spans have different lengths.</exception>
    public static MulticlassClassificationMetrics MulticlassClassification<T>(ReadOnlySpan<T> actual, ReadOnlySpan<T> predicted) where T : notnull
    {
        SameLength(actual.Length, predicted.Length, "predicted");
        var classes = new Dictionary<T, int>();
        var counts = new List<long[]>();   // per class: TP, FP, FN
        int Class(T value)
        {
            if (!classes.TryGetValue(value, out var index))
            {
                classes[value] = index = classes.Count;
                counts.Add(new long[3]);
            }
            return index;
        }
        long correct = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            int a = Class(actual[i]), p = Class(predicted[i]);
            if (a == p)
            {
                counts[a][0]++;
                correct++;
            }
            else
            {
                counts[p][1]++;
                counts[a][2]++;
            }
        }
        if (actual.Length == 0) return new MulticlassClassificationMetrics(0, 0, double.NaN, double.NaN, double.NaN, double.NaN);
        double precision = 0, recall = 0, f1 = 0;
        foreach (var c in counts)
        {
            precision += Ratio(c[0], c[0] + c[1]);
            recall += Ratio(c[0], c[0] + c[2]);
            f1 += Ratio(2 * c[0], 2 * c[0] + c[1] + c[2]);
        }
        return new MulticlassClassificationMetrics(actual.Length, counts.Count, (double)correct / actual.Length,
            precision / counts.Count, recall / counts.Count, f1 / counts.Count);
    }

    /// <summary>The area under the ROC curve of scores for the positive class (scikit-learn's <c>roc_auc_score</c>): the
    /// Mann-Whitney U of the positives' scores over the negatives' divided by n₊ n₋, tied scores counting one half.</summary>
    /// <param name="positive">Whether each row's label is the positive class.</param>
    /// <param name="scores">The score (or probability) of the positive class, one per row; higher means more likely positive.</param>
    /// <returns>The AUC; NaN when there is no positive or no negative row (scikit-learn raises then).</returns>
    /// <exception cref="ValidationException">The spans have different lengths, or a score is NaN.</exception>
    public static double RocAuc(ReadOnlySpan<bool> positive, ReadOnlySpan<double> scores)
    {
        SameLength(positive.Length, scores.Length, "scores");
        NoNaN(scores, "scores");
        long positives = 0;
        foreach (var p in positive) if (p) positives++;
        long negatives = positive.Length - positives;
        if (positives == 0 || negatives == 0) return double.NaN;
        var order = new int[scores.Length];
        for (int i = 0; i < order.Length; i++) order[i] = i;
        var keys = scores.ToArray();
        Array.Sort(keys, order);
        // Rank sum of the positives, ranks from 1, ties given their average rank (exact in doubles: halves of integers < 2^53).
        double rankSum = 0;
        for (int start = 0; start < keys.Length;)
        {
            int end = start + 1;
            while (end < keys.Length && keys[end] == keys[start]) end++;
            double averageRank = (start + 1 + end) / 2.0;
            for (int k = start; k < end; k++)
                if (positive[order[k]]) rankSum += averageRank;
            start = end;
        }
        return (rankSum - positives * (positives + 1) / 2.0) / ((double)positives * negatives);
    }

    /// <summary>The mean negative log-likelihood of the labels under the predicted probabilities of the positive class
    /// (scikit-learn's <c>log_loss</c>, natural log): the probabilities of both classes are clipped to
    /// [<see cref="LogLossEpsilon"/>, 1 - <see cref="LogLossEpsilon"/>] and renormalized.</summary>
    /// <param name="positive">Whether each row's label is the positive class.</param>
    /// <param name="probabilities">The probability of the positive class, one per row, in [0, 1].</param>
    /// <returns>The log loss, NaN for no row.</returns>
    /// <exception cref="ValidationException">The spans have different lengths, or a probability is NaN or outside [0, 1].</exception>
    public static double LogLoss(ReadOnlySpan<bool> positive, ReadOnlySpan<double> probabilities)
    {
        SameLength(positive.Length, probabilities.Length, "probabilities");
        if (positive.Length == 0) return double.NaN;
        double sum = 0;
        for (int i = 0; i < probabilities.Length; i++)
        {
            var p = probabilities[i];
            if (!(p >= 0 && p <= 1))
                throw new ValidationException($"PerformanceMetrics.LogLoss: probabilities[{i}] is {p}; pass probabilities of the positive class in [0, 1] (the score column of a calibrated classifier, e.g. output.Probability).");
            double q1 = Math.Clamp(p, LogLossEpsilon, 1 - LogLossEpsilon), q0 = Math.Clamp(1 - p, LogLossEpsilon, 1 - LogLossEpsilon);
            sum -= Math.Log((positive[i] ? q1 : q0) / (q0 + q1));
        }
        return sum / probabilities.Length;
    }

    /// <summary>The errors of a regressor: mean absolute error, root mean squared error and R² (scikit-learn's
    /// <c>mean_absolute_error</c>, <c>mean_squared_error(squared=False)</c>, <c>r2_score</c>).</summary>
    /// <param name="actual">The true values.</param>
    /// <param name="predicted">The predictions, one per value.</param>
    /// <returns>The metrics; NaN for no row, R² NaN below 2 rows; for constant true values R² is 1 when every prediction is exact,
    /// else 0 (scikit-learn's <c>force_finite</c>).</returns>
    /// <exception cref="ValidationException">The spans have different lengths, or a value is NaN.</exception>
    public static RegressionMetrics Regression(ReadOnlySpan<double> actual, ReadOnlySpan<double> predicted)
    {
        SameLength(actual.Length, predicted.Length, "predicted");
        NoNaN(actual, "actual");
        NoNaN(predicted, "predicted");
        int n = actual.Length;
        if (n == 0) return new RegressionMetrics(0, double.NaN, double.NaN, double.NaN);
        double absolute = 0, squared = 0, mean = 0;
        for (int i = 0; i < n; i++)
        {
            var e = actual[i] - predicted[i];
            absolute += Math.Abs(e);
            squared += e * e;
            mean += actual[i];
        }
        mean /= n;
        double total = 0;
        for (int i = 0; i < n; i++) total += (actual[i] - mean) * (actual[i] - mean);
        double r2 = n < 2 ? double.NaN : total != 0 ? 1 - squared / total : squared == 0 ? 1 : 0;
        return new RegressionMetrics(n, absolute / n, Math.Sqrt(squared / n), r2);
    }

    internal static double Ratio(long numerator, long denominator) => denominator == 0 ? 0 : (double)numerator / denominator;

    private static void SameLength(int expected, int actual, string field)
    {
        if (expected != actual)
            throw new ValidationException($"PerformanceMetrics: {field} has {actual} values for {expected} labels; pass one {field} value per label, in the same order.");
    }

    private static void NoNaN(ReadOnlySpan<double> values, string field)
    {
        int i = FirstNaN(values);
        if (i >= 0)
            throw new ValidationException($"PerformanceMetrics: {field}[{i}] is NaN; drop the rows without a value (a failed request has no prediction) before computing the metrics.");
    }

    private static int FirstNaN(ReadOnlySpan<double> values)
    {
        for (int i = 0; i < values.Length; i++)
            if (double.IsNaN(values[i])) return i;
        return -1;
    }
}

/// <summary>The confusion counts of a binary classifier and the metrics they give (see
/// <see cref="PerformanceMetrics.BinaryClassification"/>).</summary>
/// <param name="TruePositives">Positive labels predicted positive.</param>
/// <param name="FalsePositives">Negative labels predicted positive.</param>
/// <param name="TrueNegatives">Negative labels predicted negative.</param>
/// <param name="FalseNegatives">Positive labels predicted negative.</param>
public sealed record BinaryClassificationMetrics(long TruePositives, long FalsePositives, long TrueNegatives, long FalseNegatives)
{
    /// <summary>The number of rows.</summary>
    public long Count => TruePositives + FalsePositives + TrueNegatives + FalseNegatives;

    /// <summary>(TP + TN) / count; NaN for no row.</summary>
    public double Accuracy => Count == 0 ? double.NaN : (double)(TruePositives + TrueNegatives) / Count;

    /// <summary>TP / (TP + FP); 0 when nothing is predicted positive, NaN for no row.</summary>
    public double Precision => Count == 0 ? double.NaN : PerformanceMetrics.Ratio(TruePositives, TruePositives + FalsePositives);

    /// <summary>TP / (TP + FN); 0 when no label is positive, NaN for no row.</summary>
    public double Recall => Count == 0 ? double.NaN : PerformanceMetrics.Ratio(TruePositives, TruePositives + FalseNegatives);

    /// <summary>2 TP / (2 TP + FP + FN), the harmonic mean of precision and recall; 0 when both are 0, NaN for no row.</summary>
    public double F1 => Count == 0 ? double.NaN : PerformanceMetrics.Ratio(2 * TruePositives, 2 * TruePositives + FalsePositives + FalseNegatives);
}

/// <summary>Accuracy and macro-averaged metrics of a classifier over several classes (see
/// <see cref="PerformanceMetrics.MulticlassClassification"/>).</summary>
/// <param name="Count">The number of rows.</param>
/// <param name="ClassCount">The number of classes seen in the labels or the predictions.</param>
/// <param name="Accuracy">The share of rows predicted right.</param>
/// <param name="MacroPrecision">The mean of the per-class precisions.</param>
/// <param name="MacroRecall">The mean of the per-class recalls.</param>
/// <param name="MacroF1">The mean of the per-class F1 scores.</param>
public sealed record MulticlassClassificationMetrics(long Count, int ClassCount, double Accuracy, double MacroPrecision, double MacroRecall, double MacroF1);

/// <summary>The errors of a regressor (see <see cref="PerformanceMetrics.Regression"/>).</summary>
/// <param name="Count">The number of rows.</param>
/// <param name="MeanAbsoluteError">The mean of |actual - predicted|.</param>
/// <param name="RootMeanSquaredError">The square root of the mean of (actual - predicted)².</param>
/// <param name="R2">The coefficient of determination, 1 - SSres / SStot.</param>
public sealed record RegressionMetrics(long Count, double MeanAbsoluteError, double RootMeanSquaredError, double R2);
