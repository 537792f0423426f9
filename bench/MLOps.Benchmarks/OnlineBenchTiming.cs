using System.Diagnostics;
using System.Globalization;

namespace MLOps.Benchmarks;

/// <summary>
/// Per-call percentiles for the online benchmarks: BenchmarkDotNet reports means of iterations, so the setups time
/// single calls with <see cref="Stopwatch"/> (and the thread's CPU time, which excludes waiting for a core on a shared
/// machine) and print them to the log.
/// </summary>
internal static class OnlineBenchTiming
{
    /// <summary>Times <paramref name="calls"/> calls and returns their durations in microseconds, sorted.</summary>
    public static double[] Time(int calls, Func<double> call)
    {
        var us = new double[calls];
        for (var i = 0; i < calls; i++)
        {
            var start = Stopwatch.GetTimestamp();
            call();
            us[i] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
        }
        Array.Sort(us);
        return us;
    }

    /// <summary>A quantile of sorted durations, formatted.</summary>
    public static string Us(double[] sorted, double q) => sorted[Math.Min(sorted.Length - 1, (int)(q * sorted.Length))].ToString("F2", CultureInfo.InvariantCulture);

    /// <summary>The mean of durations, formatted.</summary>
    public static string Mean(double[] us) => us.Average().ToString("F2", CultureInfo.InvariantCulture);

    /// <summary>Times every side interleaved in rounds (so drift on a shared machine hits all sides alike) and prints
    /// mean, p50, p99 and p99.9 per call, plus thread CPU time per call.</summary>
    public static void Print(string title, int calls, params (string Name, Func<double> Call)[] sides)
    {
        for (var warm = 0; warm < Math.Max(100, calls / 10); warm++)
            foreach (var (_, call) in sides) call();
        const int Rounds = 5;
        var times = sides.Select(_ => new List<double>(calls)).ToArray();
        var cpu = new double[sides.Length];
        for (var round = 0; round < Rounds; round++)
        {
            for (var s = 0; s < sides.Length; s++)
            {
                var c0 = ThreadCpu.Microseconds();
                times[s].AddRange(Time(calls / Rounds, sides[s].Call));
                cpu[s] += ThreadCpu.Microseconds() - c0;
            }
        }

        Console.WriteLine($"// {title}, {calls} timed calls each (interleaved in {Rounds} rounds):");
        var width = sides.Max(s => s.Name.Length);
        for (var s = 0; s < sides.Length; s++)
        {
            var sorted = times[s].Order().ToArray();
            var cpuText = ThreadCpu.Microseconds() < 0 ? "" : string.Create(CultureInfo.InvariantCulture, $"  cpu {cpu[s] / sorted.Length:F2} us");
            Console.WriteLine($"//   {sides[s].Name.PadRight(width)}  mean {Mean(sorted)} us  p50 {Us(sorted, 0.50)} us  p99 {Us(sorted, 0.99)} us  p99.9 {Us(sorted, 0.999)} us{cpuText}");
        }
    }

    /// <summary>The calling thread's CPU time (Linux <c>CLOCK_THREAD_CPUTIME_ID</c>), or -1 elsewhere.</summary>
    public static class ThreadCpu
    {
        [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "clock_gettime")]
        private static extern int ClockGetTime(int clock, out TimeSpec value);

        private struct TimeSpec
        {
            public long Seconds;
            public long Nanoseconds;
        }

        public static double Microseconds()
        {
            if (!OperatingSystem.IsLinux()) return -1;
            return ClockGetTime(3, out var t) == 0 ? t.Seconds * 1e6 + t.Nanoseconds / 1e3 : -1;
        }
    }
}
