namespace MLOps.Monitoring.Drift;

/// <summary>Pearson's chi-square test of homogeneity of the reference and current category counts, as scipy's
/// <c>stats.chi2_contingency([reference_counts, current_counts])</c> (defaults: Yates' correction when there are 2 categories).</summary>
/// <param name="Statistic">The chi-square statistic.</param>
/// <param name="PValue">The p-value, chi2.sf(statistic, degrees of freedom).</param>
/// <param name="DegreesOfFreedom">Categories seen in either sample minus 1.</param>
public readonly record struct ChiSquareResult(double Statistic, double PValue, int DegreesOfFreedom);
