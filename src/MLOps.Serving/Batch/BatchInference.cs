using System.Diagnostics;
using System.Globalization;
using Apache.Arrow;
using Apache.Arrow.Types;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLOps.Artifacts;
using MLOps.FeatureStore.Retrieval;
using MLOps.Registry;
using MLOps.Runs;

namespace MLOps.Serving.Batch;

/// <summary>
/// Batch inference: scores a dataset (a dataset artifact, or a Parquet or Arrow file) with a registered ML.NET model, as
/// a tracked run that writes the predictions as a dataset artifact.
/// </summary>
/// <remarks>
/// <para>Each Arrow record batch is read by the model in place (no row is copied into an intermediate form): doubles and
/// integers are read as <c>Single</c>, the type ML.NET trainers expect. A dataset column whose name differs from a model
/// input column only by case (<c>distance</c> for <c>Distance</c>) is read as that input column.</para>
/// <para>The predictions hold the kept input columns (<see cref="BatchInferenceOptions.KeepColumns"/>, all by default),
/// then every scalar column the model adds (e.g. <c>PredictedLabel</c>, <c>Score</c>, <c>Probability</c>):
/// <c>Single</c> and <c>Double</c> become <c>double</c> columns, <c>Boolean</c> <c>bool</c>, <c>Text</c> <c>string</c>,
/// integers <c>int64</c>. Vector and key columns (e.g. <c>Features</c>) are left out.</para>
/// <para>The run logs the parameters <c>model</c>, <c>dataset</c> and <c>batch_size</c>, the inputs <c>model</c> (the
/// resolved model version URI) and <c>dataset</c> (the resolved dataset version URI, for a dataset artifact), the results
/// <c>rows</c> and <c>seconds</c>, and the predictions as an output. A failure fails the run and is rethrown.</para>
/// <para>The dataset is streamed: each batch of at most <see cref="BatchInferenceOptions.BatchSize"/> rows is read (a
/// Parquet file one row group at a time), scored, appended as a row group to a temporary Parquet file under the
/// artifact root's <c>tmp</c> folder and released, so memory holds about one batch whatever the dataset's size. The
/// complete file is renamed and then logged (its profile is computed by reading it back); it is deleted afterwards, and
/// on a failure or a cancellation too.</para>
/// </remarks>
public static class BatchInference
{
    /// <summary>Scores a dataset with a registered ML.NET model as a tracked run, and logs the predictions as a dataset artifact.</summary>
    /// <param name="project">The project holding the model, the dataset and the run.</param>
    /// <param name="modelUri">The model URI (<c>store://models/flights/delay:production</c>) or name (latest version).</param>
    /// <param name="datasetUriOrPath">A dataset artifact URI (<c>store://datasets/...</c>), or the path of a Parquet
    /// (<c>.parquet</c>), Arrow (<c>.arrow</c>, <c>.feather</c>, <c>.ipc</c>) or CSV (<c>.csv</c>) file.</param>
    /// <param name="options">The run name, output key, batch size and kept columns.</param>
    /// <param name="cancellationToken">Cancels the run (which is then failed).</param>
    /// <returns>The run id, the number of rows, the predictions artifact and the model version.</returns>
    /// <exception cref="NotFoundException">The model, its version or alias, the dataset artifact or the file does not exist.</exception>
    /// <exception cref="ValidationException">An option is invalid (<see cref="BatchInferenceOptions.Validate"/>), the dataset lacks an input column of the model (named in the message), a
    /// column has a type the model cannot read, a kept column does not exist, the file extension is unknown, or the
    /// model is not an ML.NET model.</exception>
    /// <exception cref="ArtifactException">The model or the dataset cannot be read.</exception>
    public static Task<BatchInferenceResult> RunAsync(MLOpsProject project, string modelUri, string datasetUriOrPath, BatchInferenceOptions? options = null, CancellationToken cancellationToken = default)
        => RunCoreAsync(project, modelUri, datasetUriOrPath, options, batchWritten: null, cancellationToken);

    /// <summary>Runs <see cref="RunAsync"/>, calling <paramref name="batchWritten"/> with the rows scored so far after each
    /// batch is written to the predictions file (tests use it to look at or cancel a run in the middle of the dataset).</summary>
    internal static async Task<BatchInferenceResult> RunCoreAsync(MLOpsProject project, string modelUri, string datasetUriOrPath, BatchInferenceOptions? options,
        Action<long>? batchWritten, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(project);
        Throw.IfNullOrWhitespace(modelUri);
        Throw.IfNullOrWhitespace(datasetUriOrPath);
        options ??= new BatchInferenceOptions();
        var errors = options.Validate();
        if (errors.Count > 0)
            throw new ValidationException("The BatchInferenceOptions are invalid", errors);

        var model = await project.Models.LoadAsync(modelUri, null, ct).ConfigureAwait(false);
        ArtifactRecord? dataset = null;
        DatasetFormat format = default;
        if (datasetUriOrPath.StartsWith("store://", StringComparison.OrdinalIgnoreCase))
        {
            dataset = await project.Artifacts.GetAsync(datasetUriOrPath, ct).ConfigureAwait(false);
            if (dataset.Kind != ArtifactKind.Dataset)
                throw new ValidationException($"'{dataset.Uri}' is a {dataset.Kind.ToString().ToLowerInvariant()}, not a dataset. Pass a dataset artifact URI or a Parquet or Arrow file.");
        }
        else
        {
            if (!File.Exists(datasetUriOrPath))
                throw new NotFoundException("dataset file", datasetUriOrPath, $"The dataset file '{datasetUriOrPath}' does not exist. Check the path, or pass a dataset artifact URI (store://datasets/...).");
            format = FormatOf(datasetUriOrPath);
        }

        var run = await project.Runs.StartAsync(options.RunName, cancellationToken: ct).ConfigureAwait(false);
        await using (run.ConfigureAwait(false))
        {
            try
            {
                var result = await ScoreAsync(project, run, model, dataset, datasetUriOrPath, format, options, batchWritten, ct).ConfigureAwait(false);
                await run.CompleteAsync(ct).ConfigureAwait(false);
                return result;
            }
            catch (Exception e) when (!run.HasEnded)
            {
                await run.FailAsync(e, CancellationToken.None).ConfigureAwait(false);
                throw;
            }
        }
    }

    private static async Task<BatchInferenceResult> ScoreAsync(MLOpsProject project, RunContext run, LoadedModel model, ArtifactRecord? dataset,
        string path, DatasetFormat format, BatchInferenceOptions options, Action<long>? batchWritten, CancellationToken ct)
    {
        var stopwatch = Stopwatch.StartNew();
        await run.LogParametersAsync(new Dictionary<string, object>
        {
            ["model"] = model.Version.Uri,
            ["dataset"] = dataset?.Uri ?? Path.GetFullPath(path),
            ["batch_size"] = options.BatchSize,
        }, ct).ConfigureAwait(false);
        await run.LogInputAsync("model", model.Version.Uri, ct).ConfigureAwait(false);
        if (dataset is not null)
            await run.LogInputAsync("dataset", dataset.Uri, ct).ConfigureAwait(false);

        Names.ArtifactKey(options.OutputKey); // an invalid key fails the run before the scoring, not after it
        var source = dataset is not null
            ? project.Artifacts.ReadDatasetAsync(dataset.Uri, options.BatchSize, ct)
            : DatasetReader.ReadAsync(path, format, options.BatchSize, ct);
        var file = new PredictionsFile(project.ArtifactRoot, options.OutputKey);
        await using (file.ConfigureAwait(false))
        {
            Plan? plan = null;
            long rows = 0;
            var created = new List<IArrowArray>();
            await foreach (var batch in source.ConfigureAwait(false))
            {
                try
                {
                    ct.ThrowIfCancellationRequested();
                    plan ??= Plan.Create(model, batch.Schema, options.KeepColumns);
                    await file.WriteAsync(plan.Score(batch, created, ct), ct).ConfigureAwait(false);
                    rows += batch.Length;
                    batchWritten?.Invoke(rows);
                }
                finally
                {
                    // The output batch shares the kept arrays with the input batch: dispose each array once.
                    foreach (var array in created) array.Dispose();
                    created.Clear();
                    batch.Dispose();
                }
            }
            if (!file.HasSchema)
                throw new ValidationException($"The dataset '{dataset?.Uri ?? path}' has no record batch, so it has no schema to score. Pass a dataset with columns.");
            var completed = await file.CompleteAsync(ct).ConfigureAwait(false);
            var output = await run.LogDatasetAsync(options.OutputKey, completed, null, ct).ConfigureAwait(false);
            stopwatch.Stop();
            await run.LogResultsAsync(new Dictionary<string, double>
            {
                ["rows"] = rows,
                ["seconds"] = stopwatch.Elapsed.TotalSeconds,
            }, ct).ConfigureAwait(false);
            return new BatchInferenceResult(run.Id, rows, output, model.Version, stopwatch.Elapsed);
        }
    }

    private static DatasetFormat FormatOf(string path) => Path.GetExtension(path).ToLowerInvariant() switch
    {
        ".parquet" => DatasetFormat.Parquet,
        ".arrow" or ".feather" or ".ipc" => DatasetFormat.Arrow,
        ".csv" => DatasetFormat.Csv,
        var other => throw new ValidationException($"The dataset file '{path}' has the extension '{other}'; batch inference reads .parquet, .arrow, .feather, .ipc and .csv files."),
    };

    /// <summary>How the batches of one dataset schema are scored: the renamed view schema, the kept and the output columns.</summary>
    private sealed class Plan
    {
        private readonly LoadedModel _model;
        private readonly Schema _viewSchema;
        private readonly int[] _kept;
        private readonly Schema _outputSchema;
        private readonly string[] _outputColumns;

        private Plan(LoadedModel model, Schema viewSchema, int[] kept, Schema outputSchema, string[] outputColumns)
        {
            _model = model;
            _viewSchema = viewSchema;
            _kept = kept;
            _outputSchema = outputSchema;
            _outputColumns = outputColumns;
        }

        public static Plan Create(LoadedModel model, Schema schema, IReadOnlyList<string>? keepColumns)
        {
            var viewSchema = Rename(schema, model.InputSchema);
            ArrowDataView view;
            try
            {
                view = new ArrowDataView(viewSchema, [], numbersAsSingle: true);
            }
            catch (ArgumentException e)
            {
                throw new ValidationException($"The dataset cannot be read by ML.NET: {e.Message}");
            }
            var scoredSchema = OutputSchema(model, view.Schema);

            var outputFields = new List<Field>();
            var outputColumns = new List<string>();
            foreach (var column in scoredSchema)
            {
                if (column.IsHidden || view.Schema.GetColumnOrNull(column.Name) is not null) continue;
                var type = ArrowType(column.Type);
                if (type is null) continue;
                outputFields.Add(new Field(column.Name, type, nullable: false));
                outputColumns.Add(column.Name);
            }

            var kept = new List<int>();
            if (keepColumns is null)
            {
                for (var i = 0; i < schema.FieldsList.Count; i++) kept.Add(i);
            }
            else
            {
                var unknown = keepColumns.Where(c => schema.GetFieldIndex(c) < 0).ToList();
                if (unknown.Count > 0)
                    throw new ValidationException($"The kept columns {string.Join(", ", unknown.Select(c => $"'{c}'"))} are not in the dataset, whose columns are {string.Join(", ", schema.FieldsList.Select(f => f.Name))}. Fix BatchInferenceOptions.KeepColumns.");
                kept.AddRange(keepColumns.Select(c => schema.GetFieldIndex(c)));
            }
            kept.RemoveAll(i => outputColumns.Contains(schema.FieldsList[i].Name, StringComparer.OrdinalIgnoreCase));

            var builder = new Schema.Builder();
            foreach (var i in kept) builder.Field(schema.FieldsList[i]);
            foreach (var field in outputFields) builder.Field(field);
            return new Plan(model, viewSchema, [.. kept], builder.Build(), [.. outputColumns]);
        }

        /// <summary>Scores a batch: the output batch shares the kept arrays with <paramref name="batch"/>; the arrays it
        /// creates are added to <paramref name="created"/>, for the caller to dispose once the output is written.</summary>
        public RecordBatch Score(RecordBatch batch, List<IArrowArray> created, CancellationToken ct)
        {
            var view = new ArrowDataView(_viewSchema, [new RecordBatch(_viewSchema, batch.Arrays, batch.Length)], numbersAsSingle: true);
            var scored = _model.Transformer.Transform(view);
            var columns = _outputColumns.Select(n => scored.Schema[n]).ToArray();
            var sinks = columns.Select(c => Sink.For(c)).ToArray();
            using (var cursor = scored.GetRowCursor(columns))
            {
                for (var i = 0; i < sinks.Length; i++) sinks[i].Bind(cursor);
                long row = 0;
                while (cursor.MoveNext())
                {
                    if ((++row & 0xFFF) == 0) ct.ThrowIfCancellationRequested();
                    foreach (var sink in sinks) sink.Append();
                }
            }
            var arrays = new List<IArrowArray>(_kept.Length + sinks.Length);
            foreach (var i in _kept) arrays.Add(batch.Column(i));
            foreach (var sink in sinks)
            {
                var array = sink.Build();
                created.Add(array);
                arrays.Add(array);
            }
            return new RecordBatch(_outputSchema, arrays, batch.Length);
        }

        private static DataViewSchema OutputSchema(LoadedModel model, DataViewSchema input)
        {
            if (TryOutputSchema(model, input, out var schema, out var error)) return schema;
            // Find the model input columns the dataset lacks and the model needs: the ones whose absence alone breaks it.
            var absent = model.InputSchema.Where(c => !c.IsHidden && input.GetColumnOrNull(c.Name) is null).ToList();
            var needed = absent.Where(c => !TryOutputSchema(model, With(input, absent.Where(o => o.Name != c.Name)), out _, out _)).Select(c => c.Name).ToList();
            if (needed.Count > 0)
                throw new ValidationException(
                    $"The dataset lacks the model input column{(needed.Count == 1 ? "" : "s")} {string.Join(", ", needed.Select(n => $"'{n}'"))} " +
                    $"of {model.Version.Uri}; its columns are {string.Join(", ", input.Select(c => c.Name))}. Add the column{(needed.Count == 1 ? "" : "s")} to the dataset.",
                    [.. needed.Select(n => $"Missing input column '{n}'.")]);
            throw new ValidationException($"The dataset cannot be scored by {model.Version.Uri}: {error} Check the dataset's column types against the model's input schema.");
        }

        private static bool TryOutputSchema(LoadedModel model, DataViewSchema input, out DataViewSchema schema, out string? error)
        {
            try
            {
                schema = model.Transformer.GetOutputSchema(input);
                error = null;
                return true;
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException or FormatException)
            {
                schema = input;
                error = e.Message;
                return false;
            }
        }

        private static DataViewSchema With(DataViewSchema input, IEnumerable<DataViewSchema.Column> extra)
        {
            var builder = new DataViewSchema.Builder();
            builder.AddColumns(input);
            foreach (var column in extra) builder.AddColumn(column.Name, column.Type);
            return builder.ToSchema();
        }

        /// <summary>Gives a dataset column the name of the model input column it matches but for case.</summary>
        private static Schema Rename(Schema schema, DataViewSchema modelInput)
        {
            var names = schema.FieldsList.Select(f => f.Name).ToHashSet(StringComparer.Ordinal);
            var builder = new Schema.Builder();
            var renamed = false;
            foreach (var field in schema.FieldsList)
            {
                var name = field.Name;
                if (modelInput.GetColumnOrNull(name) is null)
                {
                    var matches = modelInput.Where(c => !c.IsHidden && string.Equals(c.Name, name, StringComparison.OrdinalIgnoreCase)).ToList();
                    if (matches.Count == 1 && !names.Contains(matches[0].Name))
                    {
                        name = matches[0].Name;
                        renamed = true;
                    }
                }
                builder.Field(name == field.Name ? field : new Field(name, field.DataType, field.IsNullable, field.Metadata));
            }
            return renamed ? builder.Build() : schema;
        }

        private static IArrowType? ArrowType(DataViewType type) => type switch
        {
            _ when type == NumberDataViewType.Single || type == NumberDataViewType.Double => DoubleType.Default,
            BooleanDataViewType => BooleanType.Default,
            TextDataViewType => StringType.Default,
            _ when type == NumberDataViewType.Int32 || type == NumberDataViewType.Int64 => Int64Type.Default,
            _ => null,
        };
    }

    /// <summary>Reads one scored column through a cursor into an Arrow array builder.</summary>
    private abstract class Sink
    {
        protected Sink(DataViewSchema.Column column) => Column = column;

        protected DataViewSchema.Column Column { get; }

        public abstract void Bind(DataViewRowCursor cursor);

        public abstract void Append();

        public abstract IArrowArray Build();

        public static Sink For(DataViewSchema.Column column) => column.Type switch
        {
            _ when column.Type == NumberDataViewType.Single => new SingleSink(column),
            _ when column.Type == NumberDataViewType.Double => new DoubleSink(column),
            BooleanDataViewType => new BooleanSink(column),
            TextDataViewType => new TextSink(column),
            _ when column.Type == NumberDataViewType.Int32 => new Int32Sink(column),
            _ when column.Type == NumberDataViewType.Int64 => new Int64Sink(column),
            _ => throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture, $"Column '{column.Name}' has the unsupported type {column.Type}.")),
        };
    }

    private sealed class SingleSink(DataViewSchema.Column column) : Sink(column)
    {
        private readonly DoubleArray.Builder _builder = new();
        private ValueGetter<float> _getter = null!;
        private float _value;

        public override void Bind(DataViewRowCursor cursor) => _getter = cursor.GetGetter<float>(Column);

        public override void Append()
        {
            _getter(ref _value);
            _builder.Append(_value);
        }

        public override IArrowArray Build() => _builder.Build();
    }

    private sealed class DoubleSink(DataViewSchema.Column column) : Sink(column)
    {
        private readonly DoubleArray.Builder _builder = new();
        private ValueGetter<double> _getter = null!;
        private double _value;

        public override void Bind(DataViewRowCursor cursor) => _getter = cursor.GetGetter<double>(Column);

        public override void Append()
        {
            _getter(ref _value);
            _builder.Append(_value);
        }

        public override IArrowArray Build() => _builder.Build();
    }

    private sealed class BooleanSink(DataViewSchema.Column column) : Sink(column)
    {
        private readonly BooleanArray.Builder _builder = new();
        private ValueGetter<bool> _getter = null!;
        private bool _value;

        public override void Bind(DataViewRowCursor cursor) => _getter = cursor.GetGetter<bool>(Column);

        public override void Append()
        {
            _getter(ref _value);
            _builder.Append(_value);
        }

        public override IArrowArray Build() => _builder.Build();
    }

    private sealed class TextSink(DataViewSchema.Column column) : Sink(column)
    {
        private readonly StringArray.Builder _builder = new();
        private ValueGetter<ReadOnlyMemory<char>> _getter = null!;
        private ReadOnlyMemory<char> _value;

        public override void Bind(DataViewRowCursor cursor) => _getter = cursor.GetGetter<ReadOnlyMemory<char>>(Column);

        public override void Append()
        {
            _getter(ref _value);
            _builder.Append(_value.Span.ToString());
        }

        public override IArrowArray Build() => _builder.Build();
    }

    private sealed class Int32Sink(DataViewSchema.Column column) : Sink(column)
    {
        private readonly Int64Array.Builder _builder = new();
        private ValueGetter<int> _getter = null!;
        private int _value;

        public override void Bind(DataViewRowCursor cursor) => _getter = cursor.GetGetter<int>(Column);

        public override void Append()
        {
            _getter(ref _value);
            _builder.Append(_value);
        }

        public override IArrowArray Build() => _builder.Build();
    }

    private sealed class Int64Sink(DataViewSchema.Column column) : Sink(column)
    {
        private readonly Int64Array.Builder _builder = new();
        private ValueGetter<long> _getter = null!;
        private long _value;

        public override void Bind(DataViewRowCursor cursor) => _getter = cursor.GetGetter<long>(Column);

        public override void Append()
        {
            _getter(ref _value);
            _builder.Append(_value);
        }

        public override IArrowArray Build() => _builder.Build();
    }
}
