using System.Text.Json;
using MLOps.Monitoring.Drift;

namespace MLOps.Monitoring.Tests.Drift;

/// <summary>Every drift metric against scipy/numpy (tests/oracles/drift/drift_oracle.json), to 1e-9 (see <see cref="DriftOracle.Tolerance"/>).</summary>
public class DriftMetricsOracleTests
{
    private static IEnumerable<string> NumericCases() => DriftOracle.NumericNames;

    private static IEnumerable<string> CategoricalCases() => DriftOracle.CategoricalNames;

    [TestCaseSource(nameof(NumericCases))]
    public void Compare_NumericOracleCase_MatchesScipy(string name)
    {
        JsonElement c = DriftOracle.NumericCase(name);
        double[] reference = DriftOracle.Doubles(c.GetProperty("reference"));
        double[] current = DriftOracle.Doubles(c.GetProperty("current"));
        JsonElement e = c.GetProperty("expected");
        var options = new NumericReferenceOptions { Bins = c.GetProperty("bins").GetInt32(), SampleSize = Math.Max(reference.Length, 1) };

        var refStats = NumericReference.Create("x", reference, options);
        var result = DriftMetrics.Compare(refStats, current, sampleTests: true);

        Assert.That(refStats.Edges.ToArray(), Is.EqualTo(DriftOracle.Doubles(e.GetProperty("edges"))), "edges");
        Assert.That(refStats.Counts.ToArray(), Is.EqualTo(e.GetProperty("reference_counts").EnumerateArray().Select(x => x.GetInt64()).ToArray()), "reference counts");
        Assert.That(result.Counts, Is.EqualTo(e.GetProperty("current_counts").EnumerateArray().Select(x => x.GetInt64()).ToArray()), "current counts");
        Assert.That(result.Count, Is.EqualTo(e.GetProperty("count").GetInt64()));
        Assert.That(result.MissingCount, Is.EqualTo(e.GetProperty("missing").GetInt64()));
        Assert.That(result.ReferenceSampleSize, Is.EqualTo(reference.Count(v => !double.IsNaN(v))));
        DriftOracle.AssertClose(refStats.StandardDeviation, DriftOracle.Number(e, "std"), "std");
        DriftOracle.AssertClose(result.TotalVariation, DriftOracle.Number(e, "tvd"), "tvd");
        DriftOracle.AssertClose(result.Hellinger, DriftOracle.Number(e, "hellinger"), "hellinger");
        DriftOracle.AssertClose(result.SymmetricKullbackLeibler, DriftOracle.Number(e, "kl"), "kl");
        DriftOracle.AssertClose(result.PopulationStability, DriftOracle.Number(e, "psi"), "psi");
        DriftOracle.AssertClose(result.JensenShannon, DriftOracle.Number(e, "js"), "js");
        DriftOracle.AssertClose(result.KolmogorovSmirnov!.Value.Statistic, DriftOracle.Number(e, "ks_statistic"), "ks statistic");
        DriftOracle.AssertClose(result.KolmogorovSmirnov!.Value.PValue, DriftOracle.Number(e, "ks_pvalue"), "ks p-value");
        DriftOracle.AssertClose(result.Wasserstein!.Value, DriftOracle.Number(e, "wasserstein"), "wasserstein");
        DriftOracle.AssertClose(result.WassersteinNormalized!.Value, DriftOracle.Number(e, "wasserstein_norm"), "wasserstein normalized");
        DriftOracle.AssertClose(result.MannWhitney!.Value.Statistic, DriftOracle.Number(e, "mw_statistic"), "mann-whitney U");
        DriftOracle.AssertClose(result.MannWhitney!.Value.PValue, DriftOracle.Number(e, "mw_pvalue"), "mann-whitney p-value");
        if (e.TryGetProperty("ks_exact", out var exact))
            Assert.That(result.KolmogorovSmirnov!.Value.Exact, Is.EqualTo(exact.GetBoolean()), "ks path");
    }

    [TestCaseSource(nameof(CategoricalCases))]
    public void Compare_CategoricalOracleCase_MatchesScipy(string name)
    {
        JsonElement c = DriftOracle.CategoricalCase(name);
        JsonElement e = c.GetProperty("expected");

        var reference = CategoricalReference.Create("origin", DriftOracle.Strings(c.GetProperty("reference")));
        var result = DriftMetrics.Compare(reference, DriftOracle.Strings(c.GetProperty("current")));

        Assert.That(result.Count, Is.EqualTo(e.GetProperty("count").GetInt64()));
        Assert.That(result.MissingCount, Is.EqualTo(e.GetProperty("missing").GetInt64()));
        Assert.That(result.UnseenCount, Is.EqualTo(e.GetProperty("unseen").GetInt64()));
        Assert.That(result.ChiSquare.DegreesOfFreedom, Is.EqualTo(e.GetProperty("dof").GetInt32()));
        DriftOracle.AssertClose(result.TotalVariation, DriftOracle.Number(e, "tvd"), "tvd");
        DriftOracle.AssertClose(result.Hellinger, DriftOracle.Number(e, "hellinger"), "hellinger");
        DriftOracle.AssertClose(result.SymmetricKullbackLeibler, DriftOracle.Number(e, "kl"), "kl");
        DriftOracle.AssertClose(result.PopulationStability, DriftOracle.Number(e, "psi"), "psi");
        DriftOracle.AssertClose(result.JensenShannon, DriftOracle.Number(e, "js"), "js");
        DriftOracle.AssertClose(result.ChiSquare.Statistic, DriftOracle.Number(e, "chi2"), "chi2");
        DriftOracle.AssertClose(result.ChiSquare.PValue, DriftOracle.Number(e, "chi2_pvalue"), "chi2 p-value");
    }
}
