namespace MLOps.Benchmarks;

internal static class HotPathProfile
{
    public static Task RunAsync(TextWriter output) => output.WriteLineAsync("todo");
}
