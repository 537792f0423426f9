namespace MLOps.Data;

/// <summary>The file formats that dataset artifacts can be read from, profiled and written to.</summary>
public enum DatasetFormat
{
    /// <summary>Comma-separated values with a header row (<c>.csv</c>); column types are inferred.</summary>
    Csv = 0,

    /// <summary>Apache Parquet (<c>.parquet</c>).</summary>
    Parquet = 1,

    /// <summary>Apache Arrow IPC, file or stream layout (<c>.arrow</c>, <c>.feather</c>, <c>.ipc</c>).</summary>
    Arrow = 2,
}
