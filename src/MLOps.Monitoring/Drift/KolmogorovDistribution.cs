namespace MLOps.Monitoring.Drift;

/// <summary>
/// The survival function of the two-sided one-sample Kolmogorov-Smirnov statistic D_n, P(D_n &gt; x), following scipy's
/// <c>stats._ksstats._kolmogn(n, x, cdf=False)</c> (Simard and L'Ecuyer 2011): Ruben-Gambino at the ends, 2 x Smirnov's
/// one-sided tail where that is exact to double precision, the Durbin matrix (Marsaglia-Tsang-Wang) for small n x^2 and
/// the Pelz-Good expansion otherwise. Smirnov's tail is the Birnbaum-Tingey sum; where scipy uses Pomeranz's recursion
/// (n &lt;= 140), the Durbin matrix is used (both are exact methods).
/// </summary>
internal static class KolmogorovDistribution
{
    private const double Ep128 = 3.402823669209385e38; // 2^128
    private const double Em128 = 2.938735877055719e-39; // 2^-128

    public static double Survival(long n, double x)
    {
        if (n <= 0) return double.NaN;
        if (x >= 1.0) return 0.0;
        if (x <= 0.0) return 1.0;
        double t = n * x;
        if (t <= 1.0)
        {
            if (t <= 0.5) return 1.0;
            double prob;
            if (n <= 140)
            {
                prob = 1.0;
                for (long i = 1; i <= n; i++) prob *= i * (1.0 / n) * (2 * t - 1);
            }
            else
            {
                prob = Math.Exp(LogFactorialOverPower(n) + n * Math.Log(2 * t - 1));
            }
            return Clip(1.0 - prob);
        }
        if (t >= n - 1) return Clip(2 * Math.Pow(1.0 - x, n));
        if (x >= 0.5) return Clip(2 * Smirnov(n, x));
        double nxSquared = t * x;
        if (n <= 140)
        {
            if (nxSquared <= 4) return Clip(1.0 - Durbin(n, x));
            return Clip(2 * Smirnov(n, x));
        }
        if (nxSquared >= 370.0) return 0.0;
        if (nxSquared >= 2.2) return Clip(2 * Smirnov(n, x));
        double cdf;
        if (nxSquared >= 18.0) cdf = 1.0;
        else if (n <= 100000 && n * Math.Pow(x, 1.5) <= 1.4) cdf = Durbin(n, x);
        else cdf = PelzGood(n, x);
        return Clip(1.0 - cdf);
    }

    private static double Clip(double p) => Math.Clamp(p, 0.0, 1.0);

    private static readonly double[] StirlingCoefficients =
    [
        -2.955065359477124183e-2, 6.4102564102564102564e-3, -1.9175269175269175269e-3, 8.4175084175084175084e-4,
        -5.952380952380952381e-4, 7.9365079365079365079e-4, -2.7777777777777777778e-3, 8.3333333333333333333e-2,
    ];

    private static double LogFactorialOverPower(double n)
    {
        double rn = 1.0 / n, x = rn / n, poly = 0;
        foreach (double c in StirlingCoefficients) poly = poly * x + c;
        return Math.Log(n) / 2 - n + Math.Log(2 * Math.PI) / 2 + rn * poly;
    }

    /// <summary>Smirnov's one-sided tail P(D+_n &gt;= x), the Birnbaum-Tingey sum in log space.</summary>
    internal static double Smirnov(long n, double x)
    {
        if (x >= 1) return 0;
        if (x <= 0) return 1;
        long jmax = (long)Math.Floor(n * (1 - x));
        double logBinom = 0, sum = 0;
        for (long j = 0; j <= jmax; j++)
        {
            if (j > 0) logBinom += Math.Log((double)(n - j + 1) / j);
            double left = 1 - x - (double)j / n;
            if (left <= 0) break;
            double right = x + (double)j / n;
            sum += Math.Exp(logBinom + (n - j) * Math.Log(left) + (j - 1) * Math.Log(right));
        }
        return x * sum;
    }

    /// <summary>P(D_n &lt;= d) by the Durbin matrix algorithm (Marsaglia, Tsang, Wang 2003), as scipy's <c>_kolmogn_DMTW</c>.</summary>
    internal static double Durbin(long n, double d)
    {
        if (d >= 1.0) return 1.0;
        double nd = n * d;
        if (nd <= 0.5) return 0.0;
        int k = (int)Math.Ceiling(nd);
        double h = k - nd;
        int m = 2 * k - 1;
        var v = new double[m];
        var w = new double[m];
        double fac = 1.0;
        for (int j = 1; j <= m; j++)
        {
            v[j - 1] = 1.0 - Math.Pow(h, j);
            w[j - 1] = fac;
            fac /= j;
            v[j - 1] *= fac;
        }
        double tt = Math.Pow(Math.Max(2 * h - 1.0, 0), m) - 2 * Math.Pow(h, m);
        v[m - 1] = (1.0 + tt) * fac;
        var hm = new double[m, m];
        for (int i = 1; i < m; i++)
            for (int r = i - 1; r < m; r++) hm[r, i] = w[r - i + 1];
        for (int r = 0; r < m; r++) hm[r, 0] = v[r];
        for (int c = 0; c < m; c++) hm[m - 1, c] = v[m - 1 - c];
        var pw = new double[m, m];
        for (int i = 0; i < m; i++) pw[i, i] = 1;
        long nn = n;
        int expnt = 0, hExpnt = 0;
        while (nn > 0)
        {
            if (nn % 2 == 1)
            {
                pw = Multiply(pw, hm);
                expnt += hExpnt;
            }
            hm = Multiply(hm, hm);
            hExpnt *= 2;
            if (Math.Abs(hm[k - 1, k - 1]) > Ep128)
            {
                for (int r = 0; r < m; r++)
                    for (int c = 0; c < m; c++) hm[r, c] /= Ep128;
                hExpnt += 128;
            }
            nn /= 2;
        }
        double p = pw[k - 1, k - 1];
        for (long i = 1; i <= n; i++)
        {
            p = i * p / n;
            if (Math.Abs(p) < Em128)
            {
                p *= Ep128;
                expnt -= 128;
            }
        }
        if (expnt != 0) p = Math.ScaleB(p, expnt);
        return Clip(p);
    }

    private static double[,] Multiply(double[,] a, double[,] b)
    {
        int m = a.GetLength(0);
        var c = new double[m, m];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < m; j++)
            {
                double s = 0;
                for (int l = 0; l < m; l++) s += a[i, l] * b[l, j];
                c[i, j] = s;
            }
        return c;
    }

    /// <summary>The Pelz-Good approximation of P(D_n &lt;= x), as scipy's <c>_kolmogn_PelzGood</c>.</summary>
    internal static double PelzGood(long n, double x)
    {
        if (x <= 0.0) return 0.0;
        if (x >= 1.0) return 1.0;
        double pi2 = Math.PI * Math.PI, pi4 = pi2 * pi2, pi6 = pi4 * pi2;
        double sqrt2Pi = Math.Sqrt(2 * Math.PI);
        double z = Math.Sqrt(n) * x;
        double z2 = z * z, z3 = z2 * z, z4 = z2 * z2, z6 = z4 * z2;
        double qlog = -pi2 / 8 / z2;
        if (qlog < -708) return 0.0;
        double q = Math.Exp(qlog);
        double k1a = -z2, k1b = pi2 / 4;
        double k2a = 6 * z6 + 2 * z4, k2b = (2 * z4 - 5 * z2) * pi2 / 4, k2c = pi4 * (1 - 2 * z2) / 16;
        double k3d = pi6 * (5 - 30 * z2) / 64, k3c = pi4 * (-60 * z2 + 212 * z4) / 16;
        double k3b = pi2 * (135 * z4 - 96 * z6) / 4, k3a = -30 * z6 - 90 * Math.Pow(z, 8);
        double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        int maxk = (int)Math.Ceiling(16 * z / Math.PI);
        for (int k = maxk; k > 0; k--)
        {
            double mm = 2 * k - 1, m2 = mm * mm, m4 = m2 * m2, m6 = m4 * m2;
            double qpower = Math.Pow(q, 8 * k);
            s0 = s0 * qpower + 1.0;
            s1 = s1 * qpower + (k1a + k1b * m2);
            s2 = s2 * qpower + (k2a + k2b * m2 + k2c * m4);
            s3 = s3 * qpower + (k3a + k3b * m2 + k3c * m4 + k3d * m6);
        }
        s0 = s0 * q * sqrt2Pi / z;
        s1 = s1 * q * sqrt2Pi / (6 * z4);
        s2 = s2 * q * sqrt2Pi / (72 * Math.Pow(z, 7));
        s3 = s3 * q * sqrt2Pi / (6480 * Math.Pow(z, 10));
        double q2 = Math.Exp(-pi2 / 2 / z2);
        double sqrt3z = Math.Sqrt(3) * z, k2extra = 0, k3extra = 0;
        for (int k = maxk; k > 0; k--)
        {
            double ks = k, ksq = ks * ks, qp = Math.Pow(q2, ksq), kspi = Math.PI * ks;
            k2extra += ksq * qp;
            k3extra += (sqrt3z + kspi) * (sqrt3z - kspi) * ksq * qp;
        }
        s2 += k2extra * pi2 * sqrt2Pi / (-36 * z3);
        s3 += k3extra * pi2 * sqrt2Pi / (216 * z6);
        double rn = n;
        return s0 + s1 / Math.Sqrt(rn) + s2 / rn + s3 / Math.Pow(rn, 1.5);
    }
}
