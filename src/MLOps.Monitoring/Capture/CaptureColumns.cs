namespace MLOps.Monitoring.Capture;

/// <summary>
/// The columns of the captured data (Parquet files of <see cref="MonitoringCatalog.ReadCapturedAsync"/>): one row per row of a
/// request (a request of 3 rows gives 3 rows with the same request id), the request's columns, then one column per input feature
/// (<c>input.{name}</c>, after enrichment) and per output (<c>output.{name}</c>). A tensor of shape <c>[n, k]</c> gives
/// <c>k</c> columns <c>input.{name}[0]</c> ... <c>input.{name}[k-1]</c>.
/// </summary>
public static class CaptureColumns
{
    /// <summary>The request id (string).</summary>
    public const string RequestId = "request_id";

    /// <summary>The row's index within its request (int32, from 0).</summary>
    public const string Row = "row";

    /// <summary>When the server received the request (timestamp, microseconds, UTC).</summary>
    public const string Time = "time";

    /// <summary>How long the server took to answer, in milliseconds (double; null for recorded batch results).</summary>
    public const string LatencyMs = "latency_ms";

    /// <summary>The status: 200 for a success, else the error's status (int32).</summary>
    public const string StatusCode = "status_code";

    /// <summary>The error message, null for a success (string).</summary>
    public const string Error = "error";

    /// <summary>The prefix of the input feature columns.</summary>
    public const string InputPrefix = "input.";

    /// <summary>The prefix of the output columns.</summary>
    public const string OutputPrefix = "output.";

    /// <summary>The column of an input feature.</summary>
    /// <param name="feature">The feature's name.</param>
    /// <returns><c>input.{feature}</c>.</returns>
    public static string Input(string feature) => InputPrefix + feature;

    /// <summary>The column of an output.</summary>
    /// <param name="output">The output's name.</param>
    /// <returns><c>output.{output}</c>.</returns>
    public static string Output(string output) => OutputPrefix + output;
}
