using System.Collections.Concurrent;
using MLOps.Monitoring.Capture;
using MLOps.Monitoring.Endpoints;
using MLOps.Serving.Hosting;

namespace MLOps.Monitoring.Tests.Capture;

/// <summary>A capture session follows the served model when it is upgraded (alias moved and refreshed) under load.</summary>
[Parallelizable(ParallelScope.All)]
public sealed class ModelUpgradeTests
{
    [Test]
    public async Task Capture_ProductionAliasMovedAndRefreshed_NewVersionGetsItsEndpointCountsAndRows()
    {
        await using var served = await ServedFlights.StartAsync();
        var session = await served.Project.Monitoring.StartCaptureAsync(served.Server);
        await using (session)
        {
            for (int r = 0; r < 3; r++)
                await served.Server.InferAsync("delay", ServedFlights.Request($"v1-{r}", r * 10, 10));
            var (v2, v2Data) = await served.RegisterVersionAsync("delay-training-v2", 5000, 2000);
            await served.Project.Models.SetAliasAsync("delay", "production", v2.Version);
            Assert.That(await served.Model.RefreshAsync(), Is.True);
            served.Time.Advance(TimeSpan.FromMinutes(2));
            for (int r = 0; r < 4; r++)
                await served.Server.InferAsync("delay", ServedFlights.Request($"v2-{r}", 100 + r * 10, 10));
            var failed = await served.Server.SendAsync("POST", "/v2/models/delay/infer",
                "{\"id\":\"v2-bad\",\"inputs\":[{\"name\":\"distance\",\"shape\":[1],\"datatype\":\"FP32\",\"data\":[500]}]}"u8.ToArray());
            Assert.That(failed.StatusCode, Is.EqualTo(400), failed.Text);
            var unknown = await served.Server.SendAsync("POST", "/v2/models/delay/versions/9/infer", "{\"id\":\"v9\",\"inputs\":[]}"u8.ToArray());
            Assert.That(unknown.StatusCode, Is.EqualTo(404), unknown.Text);

            await session.FlushAsync();

            var first = await served.Project.Monitoring.FindEndpointAsync("delay", "1");
            var second = await served.Project.Monitoring.FindEndpointAsync("delay", "2");
            Assert.That(second.State, Is.EqualTo(EndpointState.Active));
            Assert.That(second.Name, Is.EqualTo("delay:2"));
            Assert.That(second.RequestCount, Is.EqualTo(5));
            Assert.That(second.ErrorCount, Is.EqualTo(1));
            Assert.That(second.FirstRequest, Is.EqualTo(ServedFlights.T0.AddMinutes(2)));
            Assert.That(second.Reference!.Source, Is.EqualTo(v2Data));
            Assert.That(second.Reference.Profile!.RowCount, Is.EqualTo(2000));
            Assert.That(first.RequestCount, Is.EqualTo(3));
            Assert.That(first.ErrorCount, Is.Zero);
            Assert.That(first.Reference!.Source, Is.EqualTo(served.TrainingDataUri));

            var rows = await served.ReadRowsAsync(second.Id);
            Assert.That(rows.Select(row => (string)row[CaptureColumns.RequestId]!).Distinct(),
                Is.EquivalentTo(new[] { "v2-0", "v2-1", "v2-2", "v2-3", "v2-bad" }));
            Assert.That(rows, Has.Count.EqualTo(41));
            Assert.That(rows.Where(row => (string)row[CaptureColumns.RequestId]! == "v2-1").Select(row => row[CaptureColumns.Input("distance")]),
                Is.EqualTo(ServedFlights.Rows.Skip(3110).Take(10).Select(f => (object)f.Distance)));
            Assert.That(await served.ReadRowsAsync(first.Id), Has.Count.EqualTo(30));
            var traffic = await TrafficFiles.SumAsync(served.Project.Monitoring.CaptureRoot, second.Id, ServedFlights.T0, ServedFlights.T0.AddHours(1), default);
            Assert.That((traffic.Requests, traffic.Errors), Is.EqualTo((5L, 1L)));
            Assert.That(session.Endpoints.Select(e => e.Name), Is.EqualTo(new[] { "delay:1", "delay:2" }), "a 404 for a version not served gets no endpoint");
            Assert.That((await served.Project.Monitoring.ListEndpointsAsync()).Select(e => e.Name), Is.EquivalentTo(new[] { "delay:1", "delay:2" }));
            Assert.That(session.WrittenCount, Is.EqualTo(8));
        }

        foreach (var endpoint in await served.Project.Monitoring.ListEndpointsAsync())
            Assert.That(endpoint.State, Is.EqualTo(EndpointState.Stopped), endpoint.Name);
    }

    /// <summary>Eight threads send while the alias moves and the model refreshes (from the 100th request on; a thread that has
    /// sent 200 waits for the upgrade); each goes on until it has sent 20 requests after the upgrade. Every request must be counted and captured exactly once, on the endpoint of the version that answered.</summary>
    [Test]
    public async Task Capture_UpgradeUnderConcurrentLoad_EveryRequestCountedAndCapturedOnce()
    {
        await using var served = await ServedFlights.StartAsync();
        var session = await served.Project.Monitoring.StartCaptureAsync(served.Server);
        await using (session)
        {
            var (v2, _) = await served.RegisterVersionAsync("delay-training-v2", 5000, 2000);
            var answered = new ConcurrentDictionary<string, bool>(); // id -> sent after the upgrade was done
            int sent = 0, upgraded = 0;
            var warm = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var senders = Enumerable.Range(0, 8).Select(t => Task.Run(async () =>
            {
                for (int i = 0, after = 0; after < 20; i++)
                {
                    bool upgradedBefore = Volatile.Read(ref upgraded) != 0;
                    var id = $"t{t}-{i}";
                    await served.Server.InferAsync("delay", ServedFlights.Request(id, (t * 97 + i) % 1000, 1));
                    answered[id] = upgradedBefore;
                    if (Interlocked.Increment(ref sent) == 100) warm.SetResult();
                    if (upgradedBefore) after++;
                    else if (i == 200) await done.Task; // bounds the work when the upgrade is slow
                }
            })).ToList();
            await warm.Task;
            await served.Project.Models.SetAliasAsync("delay", "production", v2.Version);
            Assert.That(await served.Model.RefreshAsync(), Is.True);
            Volatile.Write(ref upgraded, 1);
            done.SetResult();
            await Task.WhenAll(senders);

            await session.FlushAsync();

            var first = await served.Project.Monitoring.FindEndpointAsync("delay", "1");
            var second = await served.Project.Monitoring.FindEndpointAsync("delay", "2");
            Assert.That(first.RequestCount + second.RequestCount, Is.EqualTo(answered.Count));
            Assert.That(second.RequestCount, Is.GreaterThanOrEqualTo(8 * 20));
            var ids1 = (await served.ReadRowsAsync(first.Id)).Select(row => (string)row[CaptureColumns.RequestId]!).ToList();
            var ids2 = (await served.ReadRowsAsync(second.Id)).Select(row => (string)row[CaptureColumns.RequestId]!).ToList();
            Assert.That(ids1.Concat(ids2), Is.EquivalentTo(answered.Keys));
            Assert.That(answered.Where(a => a.Value).Select(a => a.Key), Is.SubsetOf(ids2));
            Assert.That(first.RequestCount, Is.EqualTo(ids1.Count));
            Assert.That(session.DroppedCount + session.LostCount, Is.Zero);
        }
    }

    /// <summary>Sixteen threads released together hand records of four versions the session has not seen (each thread's first
    /// record of a version succeeds; some later ones fail): each version gets one endpoint, and every record is counted once.</summary>
    [Test]
    public async Task OnInference_UnseenVersionsFromManyThreadsAtOnce_OneEndpointPerVersionAndExactCounts()
    {
        await using var served = await ServedFlights.StartAsync();
        var session = await served.Project.Monitoring.StartCaptureAsync(served.Server, new CaptureOptions { SamplingRate = 0.5, SamplingSeed = 7 });
        await using (session)
        {
            var request = ServedFlights.Request("many", 0, 1);
            var response = await served.Server.InferAsync("delay", request);
            IInferenceObserver observer = session;
            const int Threads = 16, PerThread = 250;
            using var start = new Barrier(Threads);
            var threads = Enumerable.Range(0, Threads).Select(t => new Thread(() =>
            {
                start.SignalAndWait();
                for (int i = 0; i < PerThread; i++)
                {
                    observer.OnInference(new InferenceRecord($"{t}-{i}", "delay", Version(t, i), ServedFlights.T0, TimeSpan.FromMilliseconds(1), request, response, i % 10 == 9 ? 500 : 200, null));
                }
            })).ToList();
            threads.ForEach(t => t.Start());
            threads.ForEach(t => t.Join());

            await session.FlushAsync();

            var endpoints = await served.Project.Monitoring.ListEndpointsAsync();
            Assert.That(endpoints.Select(e => e.Name), Is.EquivalentTo(new[] { "delay:1", "delay:2", "delay:3", "delay:4", "delay:5" }));
            foreach (var endpoint in endpoints.Where(e => e.ModelVersion != "1"))
            {
                var mine = Enumerable.Range(0, Threads).SelectMany(t => Enumerable.Range(0, PerThread).Where(i => Version(t, i) == endpoint.ModelVersion)).ToList();
                Assert.That(endpoint.RequestCount, Is.EqualTo(mine.Count), endpoint.Name);
                Assert.That(endpoint.ErrorCount, Is.EqualTo(mine.Count(i => i % 10 == 9)), endpoint.Name);
                Assert.That(endpoint.State, Is.EqualTo(EndpointState.Active), endpoint.Name);
            }
            long rows = 0;
            foreach (var endpoint in endpoints) rows += (await served.ReadRowsAsync(endpoint.Id)).Count;
            Assert.That(rows, Is.EqualTo(session.WrittenCount));
            Assert.That(session.WrittenCount, Is.InRange(Threads * PerThread * 4 / 10, Threads * PerThread * 6 / 10));
        }

        static string Version(int thread, int i) => ((thread + i) % 4 + 2).ToString(System.Globalization.CultureInfo.InvariantCulture);
    }
}
