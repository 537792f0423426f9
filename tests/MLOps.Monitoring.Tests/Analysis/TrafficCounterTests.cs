using MLOps.Monitoring.Capture;
using MLOps.Monitoring.Endpoints;

namespace MLOps.Monitoring.Tests.Analysis;

[Parallelizable(ParallelScope.All)]
public sealed class TrafficCounterTests
{
    private static EndpointSlot Slot() => new(new ModelEndpoint { Id = "e", Project = "p", Model = "m", Created = AnalysisFixture.At(0) }, "p");

    [Test]
    public void Count_SameMinute_AllocatesNothing()
    {
        var slot = Slot();
        slot.Count(AnalysisFixture.At(1), error: false); // the minute's counters: one allocation per endpoint and minute
        slot.AddDropped(1, AnalysisFixture.At(1));

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++)
        {
            slot.Count(AnalysisFixture.At(1).AddSeconds(i % 60), error: i % 7 == 0);
            slot.AddDropped(1, AnalysisFixture.At(1));
        }
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.That(allocated, Is.Zero);
    }

    [Test]
    public void PendingMinutes_ConcurrentCountsOverManyMinutes_SumsToEveryRequestExactlyOnce()
    {
        for (int seed = 0; seed < 20; seed++)
        {
            var slot = Slot();
            var random = new Random(seed);
            var minutes = Enumerable.Range(0, 2000).Select(_ => random.Next(0, 12)).ToArray();
            var taken = new List<TrafficMinute>();
            Parallel.For(0, minutes.Length, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
            {
                slot.Count(AnalysisFixture.At(minutes[i]), error: i % 5 == 0);
                if (i % 250 == 0)
                    lock (taken) taken.AddRange(slot.PendingMinutes()); // the writer flushing while serving threads count
            });
            taken.AddRange(slot.PendingMinutes());
            taken.AddRange(slot.PendingMinutes()); // retired minutes are read once more

            var expected = minutes.Select((m, i) => (m, i)).GroupBy(x => (long)x.m).ToDictionary(g => g.Key, g => (Requests: g.LongCount(), Errors: g.LongCount(x => x.i % 5 == 0)));
            var actual = taken.GroupBy(t => t.Minute - AnalysisFixture.At(0).UtcTicks / TimeSpan.TicksPerMinute)
                .ToDictionary(g => g.Key, g => (Requests: g.Sum(t => t.Requests), Errors: g.Sum(t => t.Errors)));
            Assert.That(actual, Is.EquivalentTo(expected), $"seed {seed}");
        }
    }

    [Test]
    public void PendingMinutes_MinuteAnHourOld_RetiredAndALateRequestStillCounted()
    {
        var slot = Slot();
        long Minute(int m) => AnalysisFixture.At(m).UtcTicks / TimeSpan.TicksPerMinute;
        slot.Count(AnalysisFixture.At(0), error: false);
        slot.Count(AnalysisFixture.At(90), error: false);

        var first = slot.PendingMinutes();          // minute 0 is retired after this read
        slot.Count(AnalysisFixture.At(0), error: true); // a late request of minute 0
        var second = slot.PendingMinutes();
        var third = slot.PendingMinutes();

        Assert.That(first.Select(t => (t.Minute, t.Requests)).Order(), Is.EqualTo(new[] { (Minute(0), 1L), (Minute(90), 1L) }));
        Assert.That(second.Select(t => (t.Minute, t.Requests, t.Errors)), Is.EqualTo(new[] { (Minute(0), 1L, 1L) }));
        Assert.That(third, Is.Empty);
    }
}
