using System.Globalization;
using MLOps.Runs;
using MLOps.Storage;

namespace MLOps.Core.Tests.Storage;

/// <summary>Keyset paging of run searches: pages are the runs that matched when the search started, each exactly once,
/// in order, whatever is created between pages; tokens are checked and bound to their search.</summary>
public abstract partial class MetadataStoreContractTests
{
    private static readonly double[] MetricValues = [0.1, 0.5, 0.9, -1, double.PositiveInfinity, double.NaN];
    private static readonly string[] ParamValues = ["1", "2", "2.0", "10", "x", "y"];
    private static readonly string[] LabelValues = ["a", "b", "B", "c"];
    private static readonly string[] RunNames = ["a1", "a2", "b1"];

    /// <summary>The fields the property test orders by, with every direction drawn at random.</summary>
    private static readonly RunField[] OrderFields =
    [
        RunField.Metric("m"), RunField.Result("r"), RunField.Label("team"), RunField.Param("p"),
        RunField.StartTime, RunField.EndTime, RunField.Name, RunField.State, RunField.Iteration, RunField.ParentId, RunField.Attribute("id"),
    ];

    /// <summary>Creates a run with random values drawn from small sets (so sort keys tie often), some missing.</summary>
    private async Task<RunRecord> RandomRunAsync(Random random, string project, IReadOnlyList<RunRecord> existing)
    {
        var start = T0.AddMinutes(random.Next(0, 6));
        var labels = new Dictionary<string, string>();
        if (random.Next(4) > 0) labels["team"] = LabelValues[random.Next(LabelValues.Length)];
        var parameters = new Dictionary<string, string>();
        if (random.Next(4) > 0) parameters["p"] = ParamValues[random.Next(ParamValues.Length)];
        var run = await _store.Runs.CreateAsync(new NewRun
        {
            Id = Guid.CreateVersion7(start).ToString("N"),
            Project = project,
            Name = RunNames[random.Next(RunNames.Length)],
            StartTime = start,
            ParentId = existing.Count > 0 && random.Next(3) == 0 ? existing[random.Next(existing.Count)].Id : null,
            Iteration = random.Next(3) == 0 ? null : random.Next(0, 3),
            Labels = labels,
            Parameters = parameters,
        });
        if (random.Next(4) > 0)
            await _store.Runs.LogMetricsAsync([new MetricEntry(run.Id, "m", MetricValues[random.Next(MetricValues.Length)], 0, T0)]);
        if (random.Next(3) > 0)
            await _store.Runs.LogResultsAsync(run.Id, new Dictionary<string, double> { ["r"] = MetricValues[random.Next(MetricValues.Length)] });
        if (random.Next(3) > 0)
            await _store.Runs.EndAsync(run.Id, random.Next(2) == 0 ? RunState.Completed : RunState.Failed, T0.AddHours(random.Next(0, 3)), null, null);
        return (await _store.Runs.GetAsync(run.Id))!;
    }

    /// <summary>The documented order, in memory: runs lacking a key last in either direction, parameters numerically then
    /// as text, ties by id (ascending; with no order, newest first then id descending).</summary>
    private sealed class OracleOrder(IReadOnlyList<RunOrder> orders) : IComparer<RunRecord>
    {
        public int Compare(RunRecord? x, RunRecord? y)
        {
            if (orders.Count == 0)
            {
                var byTime = y!.StartTime.CompareTo(x!.StartTime);
                return byTime != 0 ? byTime : string.CompareOrdinal(y.Id, x.Id);
            }
            foreach (var o in orders)
            {
                var c = o.Field.Kind == RunFieldKind.Parameter ? CompareParameter(x!, y!, o) : CompareNullsLast(Value(x!, o.Field), Value(y!, o.Field), o.Descending);
                if (c != 0) return c;
            }
            return string.CompareOrdinal(x!.Id, y!.Id);
        }

        private static int CompareNullsLast(IComparable? a, IComparable? b, bool descending)
        {
            if (a is null || b is null) return (a is null ? 1 : 0) - (b is null ? 1 : 0);
            var c = a is string sa ? string.CompareOrdinal(sa, (string)b) : a.CompareTo(b);
            return descending ? -c : c;
        }

        private static int CompareParameter(RunRecord x, RunRecord y, RunOrder o)
        {
            var hasX = x.Parameters.TryGetValue(o.Field.Key, out var tx);
            var hasY = y.Parameters.TryGetValue(o.Field.Key, out var ty);
            if (!hasX || !hasY) return (hasX ? 0 : 1) - (hasY ? 0 : 1);
            // numbers compare numerically; text (no number) sorts below every number, like SQL NULL
            double? nx = double.TryParse(tx, NumberStyles.Float, CultureInfo.InvariantCulture, out var dx) ? dx : null;
            double? ny = double.TryParse(ty, NumberStyles.Float, CultureInfo.InvariantCulture, out var dy) ? dy : null;
            var c = nx is null || ny is null ? (nx is null ? 0 : 1) - (ny is null ? 0 : 1) : nx.Value.CompareTo(ny.Value);
            if (c == 0) c = string.CompareOrdinal(tx, ty);
            return o.Descending ? -c : c;
        }

        private static IComparable? Value(RunRecord r, RunField f) => f.Kind switch
        {
            RunFieldKind.Metric => r.Metrics.TryGetValue(f.Key, out var m) && !double.IsNaN(m) ? m : null,
            RunFieldKind.Result => r.Results.TryGetValue(f.Key, out var v) && !double.IsNaN(v) ? v : null,
            RunFieldKind.Label => r.Labels.GetValueOrDefault(f.Key),
            _ => f.Key switch
            {
                "id" => r.Id,
                "name" => r.Name,
                "state" => (int)r.State,
                "start_time" => r.StartTime.UtcTicks,
                "end_time" => r.EndTime?.UtcTicks,
                "iteration" => r.Iteration,
                "parent_id" => r.ParentId,
                _ => throw new ArgumentOutOfRangeException(nameof(f), f.Key, null),
            },
        };
    }

    [Test]
    public async Task Search_RunsCreatedBetweenPages_PagesAreTheStartSnapshotOnceInOrderForEveryOrder()
    {
        for (var seed = 0; seed < 30; seed++)
        {
            var random = new Random(seed);
            var project = "paging-" + seed;
            await _store.Projects.GetOrCreateAsync(project, null, T0);
            var runs = new List<RunRecord>();
            for (var i = random.Next(3, 25); i > 0; i--) runs.Add(await RandomRunAsync(random, project, runs));

            var orders = Enumerable.Range(0, random.Next(0, 3))
                .Select(_ => new RunOrder(OrderFields[random.Next(OrderFields.Length)], random.Next(2) == 0)).ToList();
            var filtered = random.Next(3) == 0;
            RunFilter? filter = filtered ? RunField.Name.IsLike("a%") : null;
            var snapshot = runs.Where(r => !filtered || r.Name.StartsWith('a')).Order(new OracleOrder(orders)).Select(r => r.Id).ToList();

            var seen = new List<string>();
            string? token = null;
            var description = $"seed {seed}, order by [{string.Join(", ", orders.Select(o => o.Field + (o.Descending ? " desc" : " asc")))}], filter {filter}";
            do
            {
                var page = await _store.Runs.SearchAsync(new RunQuery { Project = project, Filter = filter, OrderBy = orders, PageSize = random.Next(1, 6), PageToken = token });
                seen.AddRange(page.Runs.Select(r => r.Id));
                token = page.NextPageToken;
                // Runs created between pages, sorting anywhere (before and after the page just read).
                for (var i = random.Next(0, 4); i > 0; i--) runs.Add(await RandomRunAsync(random, project, runs));
                Assert.That(seen, Has.Count.LessThanOrEqualTo(snapshot.Count + 1), description);
            }
            while (token is not null);
            Assert.That(seen, Is.EqualTo(snapshot), description);
        }
    }

    [Test]
    public async Task Search_TenNewerRunsStartedBetweenPages_NoIdReturnedTwice()
    {
        var first = new List<RunRecord>();
        for (var i = 0; i < 5; i++) first.Add(await NewRunAsync(start: T0.AddMinutes(i)));
        var page1 = await _store.Runs.SearchAsync(new RunQuery { Project = "p", PageSize = 2 });
        for (var i = 0; i < 10; i++) await NewRunAsync(start: T0.AddMinutes(10 + i));
        var ids = page1.Runs.Select(r => r.Id).ToList();
        var token = page1.NextPageToken;
        while (token is not null)
        {
            var page = await _store.Runs.SearchAsync(new RunQuery { Project = "p", PageSize = 2, PageToken = token });
            ids.AddRange(page.Runs.Select(r => r.Id));
            token = page.NextPageToken;
        }
        Assert.That(ids, Is.EqualTo(first.Select(r => r.Id).Reverse()));
        // A new search sees the new runs.
        Assert.That((await _store.Runs.SearchAsync(new RunQuery { Project = "p", PageSize = 100 })).Runs, Has.Count.EqualTo(15));
    }

    [Test]
    public async Task Search_TamperedOrGarbageToken_ThrowsValidationNamingTheTokenAndTheFix()
    {
        for (var i = 0; i < 4; i++) await NewRunAsync(start: T0.AddMinutes(i));
        var token = (await _store.Runs.SearchAsync(new RunQuery { Project = "p", PageSize = 1 })).NextPageToken!;
        var flipped = (token[10] == 'A' ? "B" : "A");
        foreach (var bad in new[] { "garbage", "12", "", "%%%", token[..^3], token + "AA", token[..10] + flipped + token[11..], Convert.ToBase64String(new byte[60]) })
        {
            var e = Assert.ThrowsAsync<ValidationException>(() => _store.Runs.SearchAsync(new RunQuery { Project = "p", PageSize = 1, PageToken = bad }), bad);
            Assert.That(e!.Message, Does.Contain("PageToken").And.Contain($"'{bad}'").And.Contain("NextPageToken"), bad);
        }
    }

    [Test]
    public async Task Search_TokenWithAnotherFilterOrderOrProject_ThrowsValidationSayingItBelongsToAnotherSearch()
    {
        for (var i = 0; i < 4; i++) await NewRunAsync(start: T0.AddMinutes(i));
        var query = new RunQuery { Project = "p", PageSize = 1, Filter = RunField.Name.Is("train"), OrderBy = [RunField.StartTime.Ascending()] };
        var token = (await _store.Runs.SearchAsync(query)).NextPageToken!;
        Assert.That((await _store.Runs.SearchAsync(query with { PageToken = token, PageSize = 3 })).Runs, Has.Count.EqualTo(3), "the page size may change between pages");
        foreach (var other in new[]
        {
            query with { PageToken = token, Filter = RunField.Name.Is("evaluate") },
            query with { PageToken = token, Filter = null },
            query with { PageToken = token, OrderBy = [RunField.StartTime.Descending()] },
            query with { PageToken = token, OrderBy = [] },
            query with { PageToken = token, Project = "q" },
        })
        {
            var e = Assert.ThrowsAsync<ValidationException>(() => _store.Runs.SearchAsync(other));
            Assert.That(e!.Message, Does.Contain(token).And.Contain("another search").And.Contain("null"));
        }
    }
}
