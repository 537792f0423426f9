namespace MLOps.Monitoring.Drift;

/// <summary>The regularized upper incomplete gamma function Q(a, x) (the chi-square survival function is Q(dof / 2, x / 2)):
/// the series for x &lt; a + 1, Lentz's continued fraction otherwise (Numerical Recipes 6.2), to double precision.</summary>
internal static class IncompleteGamma
{
    public static double UpperRegularized(double a, double x)
    {
        if (double.IsNaN(x)) return double.NaN;
        if (x <= 0) return 1;
        if (double.IsPositiveInfinity(x)) return 0;
        double logPrefix = a * Math.Log(x) - x - LogGamma(a);
        if (x < a + 1)
        {
            double term = 1 / a, sum = term, ap = a;
            for (int n = 0; n < 10_000; n++)
            {
                ap++;
                term *= x / ap;
                sum += term;
                if (Math.Abs(term) < Math.Abs(sum) * 1e-17) break;
            }
            return Math.Clamp(1 - sum * Math.Exp(logPrefix), 0, 1);
        }
        const double tiny = 1e-300;
        double b = x + 1 - a, c = 1 / tiny, d = 1 / b, h = d;
        for (int i = 1; i < 10_000; i++)
        {
            double an = -i * (i - a);
            b += 2;
            d = an * d + b;
            if (Math.Abs(d) < tiny) d = tiny;
            c = b + an / c;
            if (Math.Abs(c) < tiny) c = tiny;
            d = 1 / d;
            double delta = d * c;
            h *= delta;
            if (Math.Abs(delta - 1) < 1e-17) break;
        }
        return Math.Clamp(Math.Exp(logPrefix) * h, 0, 1);
    }

    /// <summary>ln Gamma(a) for a &gt; 0 (Lanczos, g = 7, n = 9; relative error about 1e-15).</summary>
    internal static double LogGamma(double a)
    {
        if (a < 0.5) return Math.Log(Math.PI / Math.Sin(Math.PI * a)) - LogGamma(1 - a);
        ReadOnlySpan<double> g =
        [
            0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
            12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
        ];
        a -= 1;
        double s = g[0], t = a + 7.5;
        for (int i = 1; i < 9; i++) s += g[i] / (a + i);
        return 0.5 * Math.Log(2 * Math.PI) + (a + 0.5) * Math.Log(t) - t + Math.Log(s);
    }
}
