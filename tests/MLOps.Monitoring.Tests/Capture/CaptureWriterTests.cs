using System.Text;
using Apache.Arrow;
using MLOps.Monitoring.Capture;
using MLOps.Serving.Hosting;
using MLOps.Serving.Protocol;

namespace MLOps.Monitoring.Tests.Capture;

/// <summary>The capture's cost on the request thread, and the columnar writer against a brute-force oracle of the stored rows.</summary>
[Parallelizable(ParallelScope.All)]
public sealed class CaptureWriterTests
{
    [Test]
    public async Task OnInference_SampledRecord_AllocatesNothingOnTheRequestThread()
    {
        await using var served = await ServedFlights.StartAsync();
        // the writer starts after a warm-up, so the buffer's queue grows to its size once, before the measured calls
        var session = await served.Project.Monitoring.StartCaptureCoreAsync(served.Server, new CaptureOptions(), startWriter: false, default);
        await using (session)
        {
            var request = ServedFlights.Request("alloc", 0, 1);
            var response = await served.Server.InferAsync("delay", request);
            var record = new InferenceRecord("alloc", "delay", session.Endpoints.Single().ModelVersion, ServedFlights.T0, TimeSpan.FromMilliseconds(1), request, response, 200, null);
            IInferenceObserver observer = session;
            const int Calls = 1_000;
            for (int i = 0; i < Calls; i++) observer.OnInference(record);
            session.StartWriter();
            await session.FlushAsync();

            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < Calls; i++) observer.OnInference(record);
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

            await session.FlushAsync();
            Assert.That(allocated, Is.Zero, "bytes allocated by 1,000 sampled records on the request thread");
            Assert.That(session.WrittenCount, Is.EqualTo(2 * Calls + 1));
            Assert.That(session.DroppedCount, Is.Zero);
        }
    }

    /// <summary>
    /// Property test over seeds: a random mix of records (tensor requests of several column sets, datatypes, widths and row
    /// counts, failed requests without outputs, keyed rows requests with missing values; start times over three hours and
    /// out of order) goes through the writer with a small batch size and a flush in the middle (so batches are written at
    /// the batch size and their buffers reused). The stored rows must equal an oracle built straight from the records,
    /// every file must hold one hour with its rows in time order, and nothing may be dropped or lost.
    /// </summary>
    [Test]
    public async Task FlushAsync_RandomMixOfRecords_StoredRowsEqualTheOracleFileByFile()
    {
        await using var served = await ServedFlights.StartAsync();
        for (int seed = 1; seed <= 12; seed++)
        {
            var random = new Random(seed);
            var t0 = ServedFlights.T0.AddDays(seed);
            var session = await served.Project.Monitoring.StartCaptureAsync(served.Server, new CaptureOptions { BatchSize = random.Next(1, 12) });
            var expected = new Dictionary<(string Id, int Row), Dictionary<string, object?>>();
            int count = random.Next(20, 60);
            await using (session)
            {
                IInferenceObserver observer = session;
                string? version = session.Endpoints.Single().ModelVersion;
                for (int n = 0; n < count; n++)
                {
                    observer.OnInference(RandomRecord(random, $"s{seed}-{n}", version, t0, expected));
                    if (n == count / 2) await session.FlushAsync();
                }
                await session.FlushAsync();
                Assert.That((session.WrittenCount, session.DroppedCount, session.LostCount), Is.EqualTo(((long)count, 0L, 0L)), $"seed {seed}");
            }

            var stored = new Dictionary<(string Id, int Row), Dictionary<string, object?>>();
            await foreach (var batch in served.Project.Monitoring.ReadCapturedAsync(session.Endpoints.Single().Id, t0, t0.AddHours(3)))
            {
                var times = (TimestampArray)batch.Column(CaptureColumns.Time);
                for (int i = 0; i < batch.Length; i++)
                {
                    var time = times.GetTimestamp(i)!.Value;
                    Assert.That(time.Hour, Is.EqualTo(times.GetTimestamp(0)!.Value.Hour), $"seed {seed}: a file holds one hour");
                    if (i > 0) Assert.That(time, Is.GreaterThanOrEqualTo(times.GetTimestamp(i - 1)!.Value), $"seed {seed}: rows in time order");
                    var row = new Dictionary<string, object?>();
                    for (int c = 0; c < batch.ColumnCount; c++)
                        row[batch.Schema.GetFieldByIndex(c).Name] = ServedFlights.Value(batch.Column(c), i);
                    stored.Add(((string)row[CaptureColumns.RequestId]!, (int)row[CaptureColumns.Row]!), row);
                }
            }
            Assert.That(stored.Keys, Is.EquivalentTo(expected.Keys), $"seed {seed}");
            foreach (var (key, row) in expected)
                Assert.That(stored[key], Is.EquivalentTo(row), $"seed {seed}, request {key.Id} row {key.Row}");
        }
    }

    /// <summary>One random record and, into <paramref name="expected"/>, the rows it must be stored as, written out by hand.</summary>
    private static InferenceRecord RandomRecord(Random random, string id, string? version, DateTimeOffset t0, Dictionary<(string, int), Dictionary<string, object?>> expected)
    {
        int rows = random.Next(1, 4);
        var started = t0.AddTicks(random.NextInt64(3 * TimeSpan.TicksPerHour) / 10 * 10); // whole microseconds, as stored
        var latency = TimeSpan.FromTicks(random.Next(1, 100_000));
        var values = new List<Dictionary<string, object?>>();
        for (int r = 0; r < rows; r++) values.Add([]);
        InferenceRequest request;
        InferenceResponse? response = null;
        int status = 200;
        string? error = null;
        switch (random.Next(4))
        {
            case 0: // two FP32 features, an FP32 and a BOOL output: the common column set
            {
                float[] a = [.. Enumerable.Range(0, rows).Select(_ => (float)random.Next(1000))];
                float[] b = [.. Enumerable.Range(0, rows).Select(_ => random.NextSingle())];
                float[] p = [.. Enumerable.Range(0, rows).Select(_ => random.NextSingle())];
                bool[] l = [.. Enumerable.Range(0, rows).Select(_ => random.Next(2) == 1)];
                request = new() { Id = id, Inputs = [InferenceTensor.Singles("a", a, rows), InferenceTensor.Singles("b", b, rows)] };
                response = new() { ModelName = "delay", Outputs = [InferenceTensor.Singles("p", p, rows), InferenceTensor.Booleans("l", l, rows)] };
                for (int r = 0; r < rows; r++)
                {
                    values[r]["input.a"] = a[r];
                    values[r]["input.b"] = b[r];
                    values[r]["output.p"] = p[r];
                    values[r]["output.l"] = l[r];
                }
                break;
            }
            case 1: // an FP64 feature of width 2, a BYTES feature, an INT64 output
            {
                double[] a = [.. Enumerable.Range(0, 2 * rows).Select(_ => random.NextDouble())];
                string[] s = [.. Enumerable.Range(0, rows).Select(_ => random.Next(3) == 0 ? "" : $"ü{random.Next(100)}")];
                long[] p = [.. Enumerable.Range(0, rows).Select(_ => random.NextInt64(-1000, 1000))];
                request = new() { Id = id, Inputs = [InferenceTensor.Doubles("a", a, rows, 2), InferenceTensor.Strings("s", s, rows)] };
                response = new() { ModelName = "delay", Outputs = [InferenceTensor.Int64("p", p, rows)] };
                for (int r = 0; r < rows; r++)
                {
                    values[r]["input.a[0]"] = a[2 * r];
                    values[r]["input.a[1]"] = a[2 * r + 1];
                    values[r]["input.s"] = s[r];
                    values[r]["output.p"] = p[r];
                }
                break;
            }
            case 2: // a failed request: UINT32 and INT32 features, no outputs
            {
                ulong[] a = [.. Enumerable.Range(0, rows).Select(_ => (ulong)random.NextInt64(0, uint.MaxValue))];
                long[] b = [.. Enumerable.Range(0, rows).Select(_ => random.NextInt64(int.MinValue, int.MaxValue))];
                request = new()
                {
                    Id = id,
                    Inputs = [new InferenceTensor("a", [rows], TensorData.FromUInt64(a, TensorDataType.UInt32)), new InferenceTensor("b", [rows], TensorData.FromInt64(b, TensorDataType.Int32))],
                };
                (status, error) = (400, $"bad request {id}");
                for (int r = 0; r < rows; r++)
                {
                    values[r]["input.a"] = (long)a[r];
                    values[r]["input.b"] = b[r];
                }
                break;
            }
            default: // a keyed rows request: a number and a string per row, missing in some rows (never in the first)
            {
                var json = new StringBuilder($"{{\"id\":\"{id}\",\"inputs\":[");
                for (int r = 0; r < rows; r++)
                {
                    bool hasA = r == 0 || random.Next(3) > 0, hasC = r == 0 || random.Next(3) > 0;
                    double a = random.Next(-500, 500) / 4.0;
                    string c = $"c{random.Next(10)}";
                    var fields = new List<string>();
                    if (hasA) fields.Add($"\"a\":{a.ToString(System.Globalization.CultureInfo.InvariantCulture)}");
                    if (hasC) fields.Add($"\"c\":\"{c}\"");
                    json.Append(r == 0 ? "" : ",").Append('{').Append(string.Join(',', fields)).Append('}');
                    values[r]["input.a"] = hasA ? a : null;
                    values[r]["input.c"] = hasC ? c : null;
                }
                request = InferenceJson.ParseRequest(Encoding.UTF8.GetBytes(json.Append("]}").ToString()));
                response = new() { ModelName = "delay", Outputs = [InferenceTensor.Singles("p", [.. Enumerable.Repeat(0.5f, rows)], rows)] };
                for (int r = 0; r < rows; r++) values[r]["output.p"] = 0.5f;
                break;
            }
        }
        for (int r = 0; r < rows; r++)
        {
            values[r][CaptureColumns.RequestId] = id;
            values[r][CaptureColumns.Row] = r;
            values[r][CaptureColumns.Time] = started;
            values[r][CaptureColumns.LatencyMs] = latency.TotalMilliseconds;
            values[r][CaptureColumns.StatusCode] = status;
            values[r][CaptureColumns.Error] = error;
            expected.Add((id, r), values[r]);
        }
        return new InferenceRecord(id, "delay", version, started, latency, request, response, status, error);
    }
}
