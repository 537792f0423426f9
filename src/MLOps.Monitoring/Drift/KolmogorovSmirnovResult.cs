namespace MLOps.Monitoring.Drift;

/// <summary>A two-sample Kolmogorov-Smirnov test, as scipy's <c>ks_2samp(reference, current)</c> (two-sided, method 'auto').</summary>
/// <param name="Statistic">The largest distance between the two empirical CDFs (on the exact path scipy's rounding to a multiple of 1/lcm(n1, n2)).</param>
/// <param name="PValue">The two-sided p-value.</param>
/// <param name="Exact">True when the p-value is exact (both samples at most 10,000 values), false for the asymptotic distribution.</param>
public readonly record struct KolmogorovSmirnovResult(double Statistic, double PValue, bool Exact);
