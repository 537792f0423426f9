namespace MLOps.Monitoring.Drift;

/// <summary>
/// Chi-square homogeneity test of a 2 x k table (row 0 the reference counts, row 1 the current counts, one column per category
/// seen in either), as scipy's <c>chi2_contingency</c>: expected E[r, c] = row total x column total / grand total; with one
/// degree of freedom Yates' correction moves each observed count towards its expectation by min(0.5, |E - O|); the p-value is
/// the upper regularized incomplete gamma Q(dof / 2, statistic / 2).
/// </summary>
internal static class ChiSquare
{
    public static ChiSquareResult Test(ReadOnlySpan<long> reference, ReadOnlySpan<long> current)
    {
        int k = reference.Length;
        double r0 = 0, r1 = 0;
        for (int c = 0; c < k; c++) { r0 += reference[c]; r1 += current[c]; }
        int dof = k - 1;
        if (r0 == 0 || r1 == 0) return new ChiSquareResult(double.NaN, double.NaN, dof);
        if (dof == 0) return new ChiSquareResult(0, 1, 0);
        double total = r0 + r1, statistic = 0;
        for (int c = 0; c < k; c++)
        {
            double column = reference[c] + current[c];
            statistic += Term(reference[c], r0 * column / total, dof) + Term(current[c], r1 * column / total, dof);
        }
        return new ChiSquareResult(statistic, IncompleteGamma.UpperRegularized(dof / 2.0, statistic / 2), dof);
    }

    private static double Term(double observed, double expected, int dof)
    {
        if (dof == 1)
        {
            double diff = expected - observed;
            observed += Math.Sign(diff) * Math.Min(0.5, Math.Abs(diff));
        }
        double d = observed - expected;
        return d * d / expected;
    }
}
