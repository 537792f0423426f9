using System.Runtime.CompilerServices;
using Apache.Arrow;
using Apache.Arrow.Ipc;
using MLOps.Internal;

namespace MLOps.Data;

/// <summary>
/// Reads CSV, Parquet and Arrow IPC dataset files as Arrow record batches, a bounded number of rows at a time. The
/// caller owns each batch and should dispose it once used (Arrow memory is native). Write batches with
/// <see cref="DatasetWriter"/> or <see cref="ParquetBatchWriter"/>, profile them with <see cref="DatasetProfiler"/> and
/// hand them to ML.NET with <see cref="ArrowDataView"/>.
/// </summary>
/// <remarks>
/// Arguments are checked when the method is called: an empty path or a batch size below 1 is a
/// <see cref="ValidationException"/>, a missing file a <see cref="NotFoundException"/>. A file that cannot be read as its
/// format is an <see cref="ArtifactException"/>, thrown while enumerating.
/// </remarks>
public static class DatasetReader
{
    /// <summary>The default largest number of rows in a record batch.</summary>
    public const int DefaultBatchSize = 65536;

    /// <summary>The extensions <see cref="DetectFormat"/> knows, with their format.</summary>
    private static readonly (string Extension, DatasetFormat Format)[] Extensions =
    [
        (".parquet", DatasetFormat.Parquet),
        (".csv", DatasetFormat.Csv),
        (".arrow", DatasetFormat.Arrow),
        (".feather", DatasetFormat.Arrow),
        (".ipc", DatasetFormat.Arrow),
    ];

    /// <summary>Reads a dataset file as Arrow record batches, with the default options of its format.</summary>
    /// <param name="path">The file.</param>
    /// <param name="format">Its format (see <see cref="DatasetFormat"/>, or <see cref="DetectFormat"/>).</param>
    /// <param name="batchSize">The largest number of rows in a batch, for CSV and Parquet files.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>
    /// The batches, in file order. A file with columns but no rows gives one empty batch, so that its schema is known.
    /// See <see cref="ReadCsvAsync"/>, <see cref="ReadParquetAsync"/> and <see cref="ReadArrowAsync"/> for each format.
    /// </returns>
    /// <exception cref="ValidationException"><paramref name="path"/> is empty, <paramref name="batchSize"/> is not
    /// positive or <paramref name="format"/> is not a defined format.</exception>
    /// <exception cref="NotFoundException">The file does not exist.</exception>
    /// <exception cref="ArtifactException">The file cannot be read as <paramref name="format"/> (thrown while enumerating).</exception>
    public static IAsyncEnumerable<RecordBatch> ReadAsync(string path, DatasetFormat format, int batchSize = DefaultBatchSize, CancellationToken cancellationToken = default)
    {
        CheckBatchSize(batchSize, "batchSize");
        return format switch
        {
            DatasetFormat.Csv => ReadCsvAsync(path, new CsvReadOptions { BatchSize = batchSize }, cancellationToken),
            DatasetFormat.Parquet => ReadParquetAsync(path, new ParquetReadOptions { BatchSize = batchSize }, cancellationToken),
            DatasetFormat.Arrow => ReadArrowAsync(CheckFile(path), cancellationToken),
            _ => throw new ValidationException(
                $"The dataset format {(int)format} is not defined. Pass DatasetFormat.Csv, DatasetFormat.Parquet or DatasetFormat.Arrow, or DatasetReader.DetectFormat(path)."),
        };
    }

    /// <summary>Reads a CSV file as Arrow record batches, inferring each column's type.</summary>
    /// <param name="path">The file.</param>
    /// <param name="options">The batch size, the columns to keep as text and the zone of timestamps without an offset
    /// (null: the defaults).</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The batches, in file order (one empty batch for a file with a header but no rows).</returns>
    /// <remarks>
    /// Comma-separated, with a header row, RFC 4180 quoting. The file is read twice: once to infer each column's type
    /// and once to convert it. A column is <c>int64</c> when every non-empty cell is an integer, else <c>double</c> when
    /// every one is a number, else <c>bool</c> (<c>true</c>/<c>false</c>, any case), else <c>timestamp</c> (UTC,
    /// microseconds) when every one is an ISO 8601 date or date-time (an offset is converted to UTC, no offset means
    /// <see cref="CsvReadOptions.TimeZone"/>) or <c>yyyy/MM/dd HH:mm[:ss]</c>, else <c>string</c>. Empty cells are nulls;
    /// a column with no value at all is a <c>string</c> column, and so is every column named in
    /// <see cref="CsvReadOptions.TextColumns"/>.
    /// </remarks>
    /// <exception cref="ValidationException"><paramref name="path"/> is empty or <see cref="CsvReadOptions.BatchSize"/> is not positive.</exception>
    /// <exception cref="NotFoundException">The file does not exist.</exception>
    /// <exception cref="ArtifactException">The file cannot be read as CSV (thrown while enumerating).</exception>
    public static IAsyncEnumerable<RecordBatch> ReadCsvAsync(string path, CsvReadOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new CsvReadOptions();
        ThrowIfInvalid("CSV read options", options.Validate());
        return CsvBatchReader.ReadAsync(CheckFile(path), options.BatchSize, options.TextColumns, cancellationToken, options.TimeZone);
    }

    /// <summary>Reads a Parquet file as Arrow record batches, all columns or some.</summary>
    /// <param name="path">The file.</param>
    /// <param name="options">The batch size and the columns to read (null: the defaults, every column).</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The batches, in file order (one empty batch for a file without rows).</returns>
    /// <remarks>
    /// Flat schemas of booleans, integers, floating-point numbers, decimals, strings, binary, timestamps, dates and
    /// times. Timestamps keep the values the file stores: <c>isAdjustedToUTC=true</c> columns (and INT96) become
    /// timestamps with the zone <c>UTC</c>, <c>isAdjustedToUTC=false</c> ones (pandas' and DuckDB's default) timestamps
    /// without a zone holding the wall-clock values; the machine's zone is never applied. One row group is read at a
    /// time and cut into batches of at most <see cref="ParquetReadOptions.BatchSize"/> rows, so memory is bounded by the
    /// largest row group. With <see cref="ParquetReadOptions.Columns"/>, the other columns are neither read nor decoded.
    /// </remarks>
    /// <exception cref="ValidationException"><paramref name="path"/> is empty or <see cref="ParquetReadOptions.BatchSize"/> is not positive.</exception>
    /// <exception cref="NotFoundException">The file does not exist.</exception>
    /// <exception cref="ArtifactException">The file cannot be read as Parquet (thrown while enumerating).</exception>
    public static IAsyncEnumerable<RecordBatch> ReadParquetAsync(string path, ParquetReadOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new ParquetReadOptions();
        ThrowIfInvalid("Parquet read options", options.Validate());
        return ParquetBatchReader.ReadAsync(CheckFile(path), options.BatchSize, options.Columns, cancellationToken);
    }

    /// <summary>Reads an Arrow IPC file (Feather v2) or stream as record batches, told apart by the file's magic bytes.</summary>
    /// <param name="path">The file.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The batches as the file stores them, whatever their size (one empty batch for a file without any).</returns>
    /// <exception cref="ValidationException"><paramref name="path"/> is empty.</exception>
    /// <exception cref="NotFoundException">The file does not exist.</exception>
    /// <exception cref="ArtifactException">The file is not a readable Arrow IPC file or stream (thrown while enumerating).</exception>
    public static IAsyncEnumerable<RecordBatch> ReadArrowAsync(string path, CancellationToken cancellationToken = default)
        => ReadArrowCoreAsync(CheckFile(path), cancellationToken);

    /// <summary>Tells the format of a dataset file from its extension (case-insensitive).</summary>
    /// <param name="path">The file path or name.</param>
    /// <returns><see cref="DatasetFormat.Parquet"/> for <c>.parquet</c>, <see cref="DatasetFormat.Csv"/> for <c>.csv</c>,
    /// <see cref="DatasetFormat.Arrow"/> for <c>.arrow</c>, <c>.feather</c> and <c>.ipc</c>.</returns>
    /// <exception cref="ValidationException"><paramref name="path"/> is empty, or its extension is none of these.</exception>
    public static DatasetFormat DetectFormat(string path)
    {
        Names.Required(path, "dataset file path", "Pass the path or name of a .parquet, .csv, .arrow, .feather or .ipc file.");
        var extension = Path.GetExtension(path);
        foreach (var (known, format) in Extensions)
        {
            if (string.Equals(extension, known, StringComparison.OrdinalIgnoreCase))
                return format;
        }

        var supported = string.Join(", ", Extensions.Select(e => e.Extension));
        var what = string.IsNullOrEmpty(extension) ? "it has no extension" : $"its extension '{extension}' is not a dataset format";
        throw new ValidationException(
            $"Cannot tell the format of the dataset file '{path}': {what}. Supported extensions: {supported}. Rename the file or pass the format explicitly.");
    }

    /// <summary>Checks the path of a file to read: required and existing.</summary>
    private static string CheckFile(string path)
    {
        Names.Required(path, "dataset file path", "Pass the path of the file to read.");
        if (!File.Exists(path))
            throw new NotFoundException("dataset file", path, $"The dataset file '{path}' does not exist. Check the path.");
        return path;
    }

    private static void CheckBatchSize(int batchSize, string field)
    {
        if (batchSize <= 0)
            throw new ValidationException(BatchSizeProblem(field, batchSize));
    }

    internal static string BatchSizeProblem(string field, int batchSize)
        => $"The {field} is {batchSize}. Pass a positive number of rows, e.g. {DefaultBatchSize}.";

    private static void ThrowIfInvalid(string what, IReadOnlyList<string> errors)
    {
        if (errors.Count > 0)
            throw new ValidationException($"The {what} are invalid", errors);
    }

    private static async IAsyncEnumerable<RecordBatch> ReadArrowCoreAsync(string path, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, useAsync: true);
        await using (stream.ConfigureAwait(false))
        {
            var isFile = await HasFileMagicAsync(stream, cancellationToken).ConfigureAwait(false);
            stream.Position = 0;
            if (isFile)
            {
                using var reader = new ArrowFileReader(stream, leaveOpen: true);
                var count = await ArrowCallAsync(path, () => reader.RecordBatchCountAsync()).ConfigureAwait(false);
                for (var i = 0; i < count; i++)
                {
                    var index = i;
                    yield return await ArrowCallAsync(path, () => reader.ReadRecordBatchAsync(index, cancellationToken)).ConfigureAwait(false);
                }

                if (count == 0)
                {
                    var schema = await ArrowCallAsync(path, () => reader.GetSchema(cancellationToken)).ConfigureAwait(false);
                    if (EmptyArrays.TryCreateBatch(schema) is { } empty)
                        yield return empty;
                }
            }
            else
            {
                using var reader = new ArrowStreamReader(stream, leaveOpen: true);
                var any = false;
                while (await ArrowCallAsync(path, () => reader.ReadNextRecordBatchAsync(cancellationToken)).ConfigureAwait(false) is { } batch)
                {
                    any = true;
                    yield return batch;
                }

                if (!any && reader.Schema is { } schema && EmptyArrays.TryCreateBatch(schema) is { } empty)
                    yield return empty;
            }
        }
    }

    private static async Task<bool> HasFileMagicAsync(Stream stream, CancellationToken cancellationToken)
    {
        var magic = new byte[6];
        var read = 0;
        while (read < magic.Length)
        {
            var n = await stream.ReadAsync(magic.AsMemory(read), cancellationToken).ConfigureAwait(false);
            if (n == 0)
                break;
            read += n;
        }

        return read == magic.Length && "ARROW1"u8.SequenceEqual(magic);
    }

    private static async ValueTask<T> ArrowCallAsync<T>(string path, Func<ValueTask<T>> call)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException and not MLOpsException)
        {
            throw new ArtifactException($"The dataset file '{path}' is not a readable Arrow IPC file or stream: {e.Message}", e);
        }
    }
}
