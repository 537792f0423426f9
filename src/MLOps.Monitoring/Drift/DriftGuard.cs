using System.Globalization;

namespace MLOps.Monitoring.Drift;

/// <summary>Argument checks of the drift metrics, each a <see cref="ValidationException"/> naming the field, the value and the fix.</summary>
internal static class DriftGuard
{
    public static void Options(NumericReferenceOptions options)
    {
        if (options.Bins < 1)
            throw new ValidationException(string.Create(CultureInfo.InvariantCulture,
                $"NumericReferenceOptions.Bins is {options.Bins}: a histogram needs at least 1 bin. Use a positive bin count (the default is {NumericReferenceOptions.DefaultBins})."));
        if (options.SampleSize < 1)
            throw new ValidationException(string.Create(CultureInfo.InvariantCulture,
                $"NumericReferenceOptions.SampleSize is {options.SampleSize}: the reference sample for Kolmogorov-Smirnov and Wasserstein needs at least 1 value. Use a positive size (the default is {NumericReferenceOptions.DefaultSampleSize})."));
    }

    public static void SameLength(int expected, int actual, string field, string expectedField)
    {
        if (expected != actual)
            throw new ValidationException(string.Create(CultureInfo.InvariantCulture,
                $"'{field}' has {actual} values but '{expectedField}' has {expected}: they are compared bin by bin. Pass spans of the same length."));
    }
}
