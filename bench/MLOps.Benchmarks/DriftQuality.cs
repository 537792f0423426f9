using System.Diagnostics;
using System.Globalization;
using MLOps.Monitoring.Applications;
using MLOps.Monitoring.Drift;

namespace MLOps.Benchmarks;

/// <summary>
/// The seeded drift-quality evaluation (`--drift-quality`): how often each detector says "detected" on real flights of 2001.
/// Reference: half of January's rows (seeded split); "no drift": windows of the other half of January; February (real drift of a
/// kind, reported); shifted copies of the held-out half: delay + 60, distance x 1.5, origin with 5% of each window's rows in an unseen
/// airport, origin with 10% of each window's rows moved to the busiest airport. Windows of 100 to 100,000 rows drawn without
/// replacement; every cell has its own seed, printed with the table. Options: --windows-scale x (windows per cell times x),
/// --sizes 100,300 (the window sizes), --windows N (windows per cell), --seed-offset N (added to every cell seed).
/// </summary>
internal static class DriftQuality
{
    public const int SplitSeed = 2001;
    public const int ReferenceSampleSeed = 1;
    public static readonly int[] Sizes = [100, 1_000, 10_000, 100_000];
    public static readonly int[] Windows = [1_000, 500, 200, 100];

    /// <summary>Windows below this many rows are decided by the sample tests of the default numeric detector.</summary>
    private const int SmallWindow = 1_000;

    /// <summary>The false-alarm target of the default numeric detector below 1,000 rows (a margin under the 1% of every size).</summary>
    private const double SmallFalseLimit = 0.005;

    private sealed record Scenario(string Name, bool Drift, string? Shifted, Func<int, double> Delay, Func<int, double> Distance, Action<Random, string[]> Origin);

    private sealed record Detector(string Name, DriftDetector Numeric, DriftDetector? Categorical);

    public static async Task RunAsync(TextWriter o, string[] args)
    {
        double scale = Option(args, "--windows-scale", double.Parse, 1.0);
        int[] sizes = Option(args, "--sizes", (a, c) => a.Split(',').Select(x => int.Parse(x, c)).ToArray(), Sizes);
        int fixedWindows = Option(args, "--windows", int.Parse, 0);
        int seedOffset = Option(args, "--seed-offset", int.Parse, 0);
        var data = await DriftQualityData.LoadAsync(await DriftQualityData.LocateAsync(o).ConfigureAwait(false)).ConfigureAwait(false);
        int[] january = Indexes(data, 1), february = Indexes(data, 2);
        Shuffle(new Random(SplitSeed), january);
        int[] referenceRows = january[..(january.Length / 2)], heldOut = january[(january.Length / 2)..];
        await o.WriteLineAsync($"flights 2001: {data.Month.Length:N0} rows; January {january.Length:N0} (reference {referenceRows.Length:N0}, held out {heldOut.Length:N0}; split seed {SplitSeed}), February {february.Length:N0}").ConfigureAwait(false);

        var options = new NumericReferenceOptions { Seed = ReferenceSampleSeed };
        var delayRef = NumericReference.Create("delay", [.. referenceRows.Select(i => data.Delay[i])], options);
        var distanceRef = NumericReference.Create("distance", [.. referenceRows.Select(i => data.Distance[i])], options);
        var originRef = CategoricalReference.Create("origin", [.. referenceRows.Select(i => data.Origin[i])]);
        string busiest = originRef.Counts.MaxBy(kv => kv.Value).Key;
        await o.WriteLineAsync($"reference: delay and distance 20 bins + a {delayRef.SampleSize:N0}-value sample (seed {ReferenceSampleSeed}); origin {originRef.Counts.Count} airports, busiest {busiest} ({(double)originRef.Counts[busiest] / originRef.Count:P1})").ConfigureAwait(false);

        var scenarios = new[]
        {
            new Scenario("held-out January", false, null, i => data.Delay[i], i => data.Distance[i], (_, _) => { }),
            new Scenario("February", false, null, i => data.Delay[i], i => data.Distance[i], (_, _) => { }),
            new Scenario("delay + 60", true, "delay", i => data.Delay[i] + 60, i => data.Distance[i], (_, _) => { }),
            new Scenario("distance x 1.5", true, "distance", i => data.Delay[i], i => data.Distance[i] * 1.5, (_, _) => { }),
            new Scenario("origin 5% unseen", true, "origin", i => data.Delay[i], i => data.Distance[i], (r, w) => Replace(r, w, 0.05, "ZZZ")),
            new Scenario($"origin 10% -> {busiest}", true, "origin", i => data.Delay[i], i => data.Distance[i], (r, w) => Replace(r, w, 0.10, busiest)),
        };
        var detectors = new[]
        {
            new Detector("default", DriftDetector.DefaultNumeric, DriftDetector.DefaultCategorical),
            new Detector("psi >= 0.25", DriftDetector.PopulationStability(0.1, 0.25), DriftDetector.PopulationStability(0.1, 0.25)),
            new Detector("ks p < 0.01", DriftDetector.KolmogorovSmirnov(0.01), null),
            new Detector("mann-whitney p < 0.0025", DriftDetector.MannWhitney(0.0025), null),
            new Detector("ks 0.001 or mw 0.004 (before)", DriftDetector.AnyOf(DriftDetector.KolmogorovSmirnov(0.001), DriftDetector.MannWhitney(0.004)), null),
            new Detector("wasserstein_norm >= 0.1", DriftDetector.Threshold(DriftStatistic.WassersteinNormalized, 0.1, 0.1), null),
            new Detector("chi2 p < 0.01", DriftDetector.KolmogorovSmirnov(0.01), DriftDetector.ChiSquare(0.01)),
            new Detector("js >= 0.1", DriftDetector.Threshold(DriftStatistic.JensenShannon, 0.1, 0.1), DriftDetector.Threshold(DriftStatistic.JensenShannon, 0.1, 0.1)),
            new Detector("tvd >= 0.1", DriftDetector.Threshold(DriftStatistic.TotalVariation, 0.1, 0.1), DriftDetector.Threshold(DriftStatistic.TotalVariation, 0.1, 0.1)),
            new Detector("mlrun (0.5 / 0.7)", DriftDetector.MLRun(), DriftDetector.MLRun()),
        };
        string[] features = ["delay", "distance", "origin"];
        // detected[scenario, detector, feature, size]
        var detected = new int[scenarios.Length, detectors.Length, features.Length, sizes.Length];
        var windows = new int[sizes.Length];
        var clock = Stopwatch.StartNew();
        for (int s = 0; s < scenarios.Length; s++)
        {
            var scenario = scenarios[s];
            int[] pool = s == 1 ? february : heldOut;
            for (int z = 0; z < sizes.Length; z++)
            {
                int size = sizes[z];
                windows[z] = fixedWindows > 0 ? fixedWindows : Math.Max(1, (int)(DefaultWindows(size) * scale));
                var random = new Random(seedOffset + CellSeed(s, z));
                var rows = (int[])pool.Clone();
                var delay = new double[size];
                var distance = new double[size];
                var origin = new string[size];
                for (int w = 0; w < windows[z]; w++)
                {
                    for (int k = 0; k < size; k++)
                    {
                        int pick = k + random.Next(rows.Length - k);
                        (rows[k], rows[pick]) = (rows[pick], rows[k]);
                        int row = rows[k];
                        delay[k] = scenario.Delay(row);
                        distance[k] = scenario.Distance(row);
                        origin[k] = data.Origin[row];
                    }
                    scenario.Origin(random, origin);
                    var d = DriftMetrics.Compare(delayRef, delay, sampleTests: true);
                    var km = DriftMetrics.Compare(distanceRef, distance, sampleTests: true);
                    var c = DriftMetrics.Compare(originRef, origin);
                    for (int t = 0; t < detectors.Length; t++)
                    {
                        if (detectors[t].Numeric.Decide(d, delayRef).Status == ResultStatus.Detected) detected[s, t, 0, z]++;
                        if (detectors[t].Numeric.Decide(km, distanceRef).Status == ResultStatus.Detected) detected[s, t, 1, z]++;
                        if (detectors[t].Categorical?.Decide(c, originRef).Status == ResultStatus.Detected) detected[s, t, 2, z]++;
                    }
                }
            }
            await o.WriteLineAsync($"  {scenario.Name}: done at {clock.Elapsed.TotalSeconds:F0} s").ConfigureAwait(false);
        }

        await o.WriteLineAsync().ConfigureAwait(false);
        await o.WriteLineAsync($"Share of windows with status \"detected\" (windows per size: {string.Join(", ", sizes.Select((n, z) => $"{n:N0} rows x {windows[z]}"))}; " +
            $"cell seed = {(seedOffset == 0 ? "" : $"{seedOffset} + ")}1000 x scenario + size index, scenarios numbered from 0 in the order below, sizes 0..{sizes.Length - 1} in the order of the columns).").ConfigureAwait(false);
        await o.WriteLineAsync().ConfigureAwait(false);
        await o.WriteLineAsync($"| scenario (seed) | feature | detector | {string.Join(" | ", sizes.Select(n => n.ToString("N0", CultureInfo.InvariantCulture)))} |").ConfigureAwait(false);
        await o.WriteLineAsync($"| --- | --- | --- |{string.Concat(sizes.Select(_ => " --- |"))}").ConfigureAwait(false);
        for (int s = 0; s < scenarios.Length; s++)
        {
            for (int f = 0; f < features.Length; f++)
            {
                string role = scenarios[s].Shifted is null ? "false" : scenarios[s].Shifted == features[f] ? "**shifted**" : "false";
                if (scenarios[s].Name == "February") role = "real";
                for (int t = 0; t < detectors.Length; t++)
                {
                    if (f == 2 && detectors[t].Categorical is null) continue;
                    if (f < 2 && detectors[t].Name.StartsWith("chi2", StringComparison.Ordinal)) continue;
                    var cells = sizes.Select((_, z) => Percent(detected[s, t, f, z], windows[z]));
                    await o.WriteLineAsync($"| {scenarios[s].Name} ({seedOffset + 1000 * s}+z) | {features[f]} ({role}) | {detectors[t].Name} | {string.Join(" | ", cells)} |").ConfigureAwait(false);
                }
            }
        }

        await o.WriteLineAsync().ConfigureAwait(false);
        await o.WriteLineAsync("Targets of the default detectors (docs/monitoring.md, \"Drift status\"):").ConfigureAwait(false);
        bool all = true;
        void Check(string what, bool ok)
        {
            all &= ok;
            o.WriteLine($"  {(ok ? "PASS" : "FAIL")} {what}");
        }
        double Rate(int s, int f, int z) => (double)detected[s, 0, f, z] / windows[z];
        for (int z = 0; z < sizes.Length; z++)
        {
            int size = sizes[z];
            double falseLimit = size < SmallWindow ? SmallFalseLimit : 0.01;
            for (int f = 0; f < 2; f++)
            {
                Check($"{features[f]}: false detected {Percent(detected[0, 0, f, z], windows[z])} at {size:N0} rows (<= {falseLimit:0.0%})", Rate(0, f, z) <= falseLimit);
                for (int s = 2; s < scenarios.Length; s++)
                {
                    // distance x 1.5 is the harder shift: >= 95% below 1,000 rows; delay + 60 is seen in every window at every size
                    double detectLimit = size < SmallWindow && scenarios[s].Shifted == "distance" ? 0.95 : 1.0;
                    if (scenarios[s].Shifted == features[f])
                        Check($"{scenarios[s].Name}: detected {Percent(detected[s, 0, f, z], windows[z])} at {size:N0} rows (>= {detectLimit:0%})", Rate(s, f, z) >= detectLimit);
                    else
                        Check($"{scenarios[s].Name}: {features[f]} (not shifted) false detected {Percent(detected[s, 0, f, z], windows[z])} at {size:N0} rows (<= {falseLimit:0.0%})", Rate(s, f, z) <= falseLimit);
                }
            }
            if (size < SmallWindow) continue;
            double limit = size < 10 * SmallWindow ? 0.05 : 0.01;
            Check($"origin: false detected {Percent(detected[0, 0, 2, z], windows[z])} at {size:N0} rows (<= {limit:P0})", Rate(0, 2, z) <= limit);
            for (int s = 4; s < scenarios.Length; s++)
                Check($"{scenarios[s].Name}: detected {Percent(detected[s, 0, 2, z], windows[z])} at {size:N0} rows (100%)", Rate(s, 2, z) >= 1.0);
        }
        await o.WriteLineAsync(all ? "All targets met." : "Some targets are NOT met.").ConfigureAwait(false);
        await o.WriteLineAsync($"Elapsed {clock.Elapsed.TotalSeconds:F0} s.").ConfigureAwait(false);
    }

    private static int CellSeed(int scenario, int size) => 1000 * scenario + size;

    /// <summary>Windows per cell when --windows is not given: 1,000 below 1,000 rows, 500 below 10,000, 200 below 100,000, else 100.</summary>
    private static int DefaultWindows(int size) => size < 1_000 ? Windows[0] : size < 10_000 ? Windows[1] : size < 100_000 ? Windows[2] : Windows[3];

    /// <summary>The value after <paramref name="name"/> in the arguments, parsed with the invariant culture, or the default.</summary>
    private static T Option<T>(string[] args, string name, Func<string, IFormatProvider, T> parse, T fallback)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
    }

    private static string Percent(int count, int total) => ((double)count / total).ToString("0.0%", CultureInfo.InvariantCulture);

    private static int[] Indexes(DriftQualityData data, int month)
        => [.. Enumerable.Range(0, data.Month.Length).Where(i => data.Month[i] == month)];

    private static void Shuffle(Random random, int[] values)
    {
        for (int i = values.Length - 1; i > 0; i--)
        {
            int j = random.Next(i + 1);
            (values[i], values[j]) = (values[j], values[i]);
        }
    }

    /// <summary>Sets exactly round(share x n) distinct rows of the window, chosen by the seeded generator, to one category.</summary>
    private static void Replace(Random random, string[] window, double share, string category)
    {
        int n = (int)Math.Round(share * window.Length);
        var order = Enumerable.Range(0, window.Length).ToArray();
        for (int k = 0; k < n; k++)
        {
            int pick = k + random.Next(order.Length - k);
            (order[k], order[pick]) = (order[pick], order[k]);
            window[order[k]] = category;
        }
    }
}
