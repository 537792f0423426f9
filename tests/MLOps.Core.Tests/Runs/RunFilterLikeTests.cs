using MLOps.Runs;

namespace MLOps.Core.Tests.Runs;

/// <summary><c>like</c> is case-sensitive and <c>ilike</c> is not, as in MLflow; <c>%</c> and <c>_</c> are the only wildcards.</summary>
[Parallelizable(ParallelScope.All)]
[FixtureLifeCycle(LifeCycle.InstancePerTestCase)]
public sealed class RunFilterLikeTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private readonly TempFolder _folder = new();
    private MLOpsProject _project = null!;

    [SetUp]
    public async Task SetUp() => _project = await TestProjects.OpenAsync(_folder);

    [TearDown]
    public async Task TearDown()
    {
        await _project.DisposeAsync();
        _folder.Dispose();
    }

    private async Task<RunRecord> NewRunAsync(string name, string team, string kind, int minute)
        => await _project.Store.Runs.CreateAsync(new NewRun
        {
            Id = Guid.CreateVersion7(T0.AddMinutes(minute)).ToString("N"),
            Project = _project.Name,
            Name = name,
            StartTime = T0.AddMinutes(minute),
            Labels = new Dictionary<string, string> { ["team"] = team },
            Parameters = new Dictionary<string, string> { ["kind"] = kind },
        });

    private async Task<string[]> NamesAsync(string filter)
        => (await _project.Runs.SearchAsync(filter, "name")).Runs.Select(r => r.Name).ToArray();

    [Test]
    public async Task SearchAsync_Like_IsCaseSensitiveAndILikeIsNot()
    {
        await NewRunAsync("Train", "Fraud", "Big", 1);
        await NewRunAsync("train", "fraud", "big", 2);
        await NewRunAsync("evaluate", "FRAUD-ops", "small", 3);
        Assert.That(await NamesAsync("labels.team like 'fr%'"), Is.EqualTo(new[] { "train" }));
        Assert.That(await NamesAsync("labels.team like 'Fr%'"), Is.EqualTo(new[] { "Train" }));
        Assert.That(await NamesAsync("labels.team ilike 'fr%'"), Is.EqualTo(new[] { "Train", "evaluate", "train" }));
        Assert.That(await NamesAsync("params.kind like 'b%'"), Is.EqualTo(new[] { "train" }));
        Assert.That(await NamesAsync("params.kind ILIKE 'B_G'"), Is.EqualTo(new[] { "Train", "train" }));
        Assert.That(await NamesAsync("name like 'T%'"), Is.EqualTo(new[] { "Train" }));
        Assert.That(await NamesAsync("name ilike 'T%'"), Is.EqualTo(new[] { "Train", "train" }));
        Assert.That(await NamesAsync("not name ilike 't%'"), Is.EqualTo(new[] { "evaluate" }));
        // Typed API: the same.
        var typed = await _project.Runs.SearchAsync(RunField.Label("team").IsLike("fr%"));
        Assert.That(typed.Runs.Select(r => r.Name), Is.EqualTo(new[] { "train" }));
        typed = await _project.Runs.SearchAsync(RunField.Label("team").IsILike("FR%"), [RunField.Name.Ascending()]);
        Assert.That(typed.Runs.Select(r => r.Name), Is.EqualTo(new[] { "Train", "evaluate", "train" }));
    }

    [Test]
    public async Task SearchAsync_LikeOnState_FollowsTheSameCaseRule()
    {
        var run = await NewRunAsync("train", "a", "b", 1);
        await _project.Store.Runs.EndAsync(run.Id, RunState.Completed, T0.AddMinutes(2), null, null);
        Assert.That(await NamesAsync("state like 'comp%'"), Is.EqualTo(new[] { "train" }));
        Assert.That(await NamesAsync("state like 'COMP%'"), Is.Empty);
        Assert.That(await NamesAsync("state ilike 'COMP%'"), Is.EqualTo(new[] { "train" }));
    }

    [Test]
    public async Task SearchAsync_NonAsciiAndGlobMetacharacters_MatchThemselves()
    {
        await NewRunAsync("a", "Équipe*[1]?", "ÜBER_x", 1);
        await NewRunAsync("b", "équipe-1-x", "über-x", 2);
        await NewRunAsync("c", "😀x", "Σσ", 3);
        Assert.That(await NamesAsync("labels.team like 'é%'"), Is.EqualTo(new[] { "b" }));
        Assert.That(await NamesAsync("labels.team ilike 'é%'"), Is.EqualTo(new[] { "a", "b" }));
        Assert.That(await NamesAsync("labels.team like '%*[1]?'"), Is.EqualTo(new[] { "a" }));   // * [ ] ? are literal
        Assert.That(await NamesAsync("labels.team like '%[1]%'"), Is.EqualTo(new[] { "a" }));
        Assert.That(await NamesAsync("labels.team like '_x'"), Is.EqualTo(new[] { "c" }));       // one code point, even outside the BMP
        Assert.That(await NamesAsync("params.kind ilike 'über_x'"), Is.EqualTo(new[] { "a", "b" }));
        Assert.That(await NamesAsync("params.kind ilike 'σΣ'"), Is.EqualTo(new[] { "c" }));
    }

    [TestCase("metrics.auc like '0.%'")]
    [TestCase("results.auc ilike '1'")]
    [TestCase("start_time like '2026%'")]
    [TestCase("iteration like '1%'")]
    public void Parse_LikeOnNumbersOrTimes_ThrowsValidationNamingTheField(string filter)
    {
        var e = Assert.Throws<ValidationException>(() => RunFilter.Parse(filter));
        Assert.That(e!.Message, Does.Contain(filter.Split(' ')[0]).And.Contain("compares text"));
    }

    [Test]
    public void Parse_ILike_RoundTripsThroughToString()
    {
        var f = RunFilter.Parse("labels.team ilike 'FR%' and name like 'T_'");
        Assert.That(f.ToString(), Is.EqualTo("(labels.team ilike 'FR%' and name like 'T_')"));
        Assert.That(RunFilter.Parse(f.ToString()), Is.EqualTo(f).Using<RunFilter>((x, y) => x.ToString() == y.ToString()));
        Assert.That(f, Is.Not.Null);
        Assert.That(((RunFilter.AllOf)f).Filters[0], Is.EqualTo(RunField.Label("team").IsILike("FR%")));
    }

    // ---- property test: the store agrees with a brute-force matcher over random values and patterns ----

    private static readonly string[] Alphabet = ["a", "A", "b", "B", "é", "É", "ß", "Σ", "σ", "*", "?", "[", "]", "\\", "%", "_", "-", "😀"];

    private static string RandomText(Random random, int min, int max)
        => string.Concat(Enumerable.Range(0, random.Next(min, max + 1)).Select(_ => Alphabet[random.Next(Alphabet.Length)]));

    /// <summary>A pattern that often matches: a value with some characters turned into wildcards or another case.</summary>
    private static string RandomPattern(Random random, IReadOnlyList<string> values)
    {
        if (random.Next(4) == 0) return RandomText(random, 0, 4);
        var sb = new System.Text.StringBuilder();
        foreach (var rune in values[random.Next(values.Count)].EnumerateRunes())
        {
            var s = rune.ToString();
            sb.Append(random.Next(10) switch
            {
                0 or 1 => "_",
                2 => "%",
                3 => random.Next(2) == 0 ? s.ToUpperInvariant() : s.ToLowerInvariant(),
                4 => "%" + s,
                _ => s,
            });
        }
        return sb.ToString();
    }

    /// <summary>MLflow's like over code points: % any run, _ one code point, everything else itself.</summary>
    private static bool Oracle(string value, string pattern, bool ignoreCase)
    {
        if (ignoreCase)
        {
            value = value.ToLowerInvariant();
            pattern = pattern.ToLowerInvariant();
        }
        var v = value.EnumerateRunes().Select(r => r.Value).ToArray();
        var p = pattern.EnumerateRunes().Select(r => r.Value).ToArray();
        var dp = new bool[p.Length + 1, v.Length + 1];
        dp[0, 0] = true;
        for (var i = 1; i <= p.Length; i++)
        {
            dp[i, 0] = p[i - 1] == '%' && dp[i - 1, 0];
            for (var j = 1; j <= v.Length; j++)
                dp[i, j] = p[i - 1] == '%' ? dp[i - 1, j] || dp[i, j - 1] : (p[i - 1] == '_' || p[i - 1] == v[j - 1]) && dp[i - 1, j - 1];
        }
        return dp[p.Length, v.Length];
    }

    [Test]
    public async Task SearchAsync_LikeAndILikeOverRandomValuesAndPatterns_MatchBruteForce()
    {
        var setup = new Random(12345);
        var runs = new List<(string Id, string Team, string Kind)>();
        for (var i = 0; i < 60; i++)
        {
            var r = await NewRunAsync("r" + i, RandomText(setup, 1, 6), RandomText(setup, 1, 6), i);
            runs.Add((r.Id, r.Labels["team"], r.Parameters["kind"]));
        }
        var values = runs.SelectMany(r => new[] { r.Team, r.Kind }).ToList();
        var checks = 0;
        for (var seed = 0; seed < 40; seed++)
        {
            var random = new Random(seed);
            for (var n = 0; n < 5; n++)
            {
                var pattern = RandomPattern(random, values);
                foreach (var ignoreCase in new[] { false, true })
                {
                    var filter = ignoreCase ? RunField.Label("team").IsILike(pattern) : RunField.Label("team").IsLike(pattern);
                    var expected = runs.Where(r => Oracle(r.Team, pattern, ignoreCase)).Select(r => r.Id).Order().ToArray();
                    var actual = (await _project.Runs.SearchAsync(filter, pageSize: 1000)).Runs.Select(r => r.Id).Order().ToArray();
                    Assert.That(actual, Is.EqualTo(expected), $"seed {seed}: labels.team {(ignoreCase ? "ilike" : "like")} '{pattern}'");

                    filter = ignoreCase ? RunField.Param("kind").IsILike(pattern) : RunField.Param("kind").IsLike(pattern);
                    expected = runs.Where(r => Oracle(r.Kind, pattern, ignoreCase)).Select(r => r.Id).Order().ToArray();
                    actual = (await _project.Runs.SearchAsync(filter, pageSize: 1000)).Runs.Select(r => r.Id).Order().ToArray();
                    Assert.That(actual, Is.EqualTo(expected), $"seed {seed}: params.kind {(ignoreCase ? "ilike" : "like")} '{pattern}'");
                    checks += expected.Length;
                }
            }
        }
        Assert.That(checks, Is.GreaterThan(100), "the patterns should match often enough to test something");
    }
}
