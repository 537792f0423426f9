namespace MLOps.Data;

/// <summary>How <see cref="DatasetReader.ReadCsvAsync"/> reads a CSV file.</summary>
public sealed class CsvReadOptions
{
    /// <summary>The largest number of rows in a record batch.
    /// <value>Defaults to <see cref="DatasetReader.DefaultBatchSize"/>; must be positive.</value></summary>
    public int BatchSize { get; set; } = DatasetReader.DefaultBatchSize;

    /// <summary>
    /// The columns read as strings whatever their cells look like (ordinal names; names the file lacks are ignored): a
    /// column of digits such as zip codes keeps its leading zeros, and a column of dates stays text for a caller that
    /// parses it with a format of its own. The other columns' types are inferred.
    /// <value>Defaults to null (every column's type is inferred).</value></summary>
    public IReadOnlySet<string>? TextColumns { get; set; }

    /// <summary>The zone of timestamp cells without an offset (cells with one are converted to UTC by their offset).
    /// <value>Defaults to null, which reads them as UTC; the machine's zone is never applied.</value></summary>
    public TimeZoneInfo? TimeZone { get; set; }

    /// <summary>Lists every problem of these options at once; each names the property, the value and the fix.
    /// <see cref="DatasetReader.ReadCsvAsync"/> throws one <see cref="ValidationException"/> listing them.</summary>
    /// <returns>The problems; empty when valid.</returns>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (BatchSize <= 0)
            errors.Add(DatasetReader.BatchSizeProblem("CsvReadOptions.BatchSize", BatchSize));
        if (TextColumns is { } text && text.Any(string.IsNullOrWhiteSpace))
            errors.Add("CsvReadOptions.TextColumns holds a blank name; name columns of the file, or leave it null.");
        return errors;
    }
}

/// <summary>How <see cref="DatasetReader.ReadParquetAsync"/> reads a Parquet file.</summary>
public sealed class ParquetReadOptions
{
    /// <summary>The largest number of rows in a record batch (a row group is cut into batches of at most this many rows).
    /// <value>Defaults to <see cref="DatasetReader.DefaultBatchSize"/>; must be positive.</value></summary>
    public int BatchSize { get; set; } = DatasetReader.DefaultBatchSize;

    /// <summary>
    /// The top-level columns to read (ordinal names): the batches hold the named columns the file has, in file order;
    /// names it lacks are ignored, and the other columns are neither read nor decoded.
    /// <value>Defaults to null (every column).</value></summary>
    public IReadOnlyCollection<string>? Columns { get; set; }

    /// <summary>Lists every problem of these options at once; each names the property, the value and the fix.
    /// <see cref="DatasetReader.ReadParquetAsync"/> throws one <see cref="ValidationException"/> listing them.</summary>
    /// <returns>The problems; empty when valid.</returns>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (BatchSize <= 0)
            errors.Add(DatasetReader.BatchSizeProblem("ParquetReadOptions.BatchSize", BatchSize));
        if (Columns is { } columns && columns.Any(string.IsNullOrWhiteSpace))
            errors.Add("ParquetReadOptions.Columns holds a blank name; name top-level columns of the file, or leave it null for every column.");
        return errors;
    }
}
