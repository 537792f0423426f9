using MLOps.Serving.Models;
using MLOps.Registry;
using MLOps.Monitoring.Endpoints;
using Apache.Arrow;
using Microsoft.Extensions.Logging;
using MLOps.Monitoring.Analysis;
using MLOps.Monitoring.Capture;
using MLOps.Serving.Hosting;

namespace MLOps.Monitoring;

/// <summary>
/// A project's monitoring (<c>project.Monitoring</c>): the model endpoints of its served models, the capture of their
/// predictions (<see cref="StartCaptureAsync"/>), batch results recorded by hand (<see cref="RecordResultsAsync"/>), the
/// captured data read back as Arrow batches (<see cref="ReadCapturedAsync"/>), and its analysis: the monitoring applications
/// (<see cref="Applications"/>) run on closed windows on demand (<see cref="AnalyzeAsync"/>) or on a schedule
/// (<see cref="StartAnalysisAsync"/>), with their results queried as time series (<see cref="GetResultsAsync"/>, <see cref="GetMetricsAsync"/>).
/// </summary>
public sealed partial class MonitoringCatalog
{
    private readonly ILogger _logger;

    internal MonitoringCatalog(MLOpsProject project, MonitoringOptions options)
    {
        options.Validate();
        Project = project;
        Options = options;
        Records = new EndpointRecords(project);
        CaptureRoot = options.CaptureRoot ?? Path.Combine(project.ArtifactRoot, "monitoring", project.Name);
        _logger = project.LoggerFactory.CreateLogger("MLOps.Monitoring");
        Applications = new MonitoringApplicationRegistry(BuiltInApplications.Create(this));
        Engine = new AnalysisEngine(this);
    }

    /// <summary>The monitoring applications run on each analysed window: the built-in ones (<c>operations</c>, ...) and the user's.</summary>
    public MonitoringApplicationRegistry Applications { get; }

    internal AnalysisEngine Engine { get; }

    /// <summary>The project.</summary>
    public MLOpsProject Project { get; }

    /// <summary>The options.</summary>
    public MonitoringOptions Options { get; }

    /// <summary>The folder of the captured data: one sub-folder per endpoint id, then per UTC day and hour, of Parquet files
    /// whose columns are described by <see cref="CaptureColumns"/>.</summary>
    public string CaptureRoot { get; }

    internal EndpointRecords Records { get; }

    /// <summary>Registers the endpoint of a model version, or returns the existing one (updating its reference when one is given).</summary>
    /// <param name="model">The served model's name.</param>
    /// <param name="modelVersion">Its version, or <see langword="null"/> for an unversioned model.</param>
    /// <param name="reference">The reference statistics; <see langword="null"/> keeps the existing one (none for a new endpoint).</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The endpoint.</returns>
    /// <exception cref="ValidationException"><paramref name="model"/> is empty.</exception>
    public Task<ModelEndpoint> RegisterEndpointAsync(string model, string? modelVersion = null, EndpointReference? reference = null, CancellationToken cancellationToken = default)
    {
        Names.Required(model, "model name", "Pass the served model's name, e.g. 'delay'.");
        return Records.RegisterAsync(model, modelVersion, reference, cancellationToken);
    }

    /// <summary>Lists the project's model endpoints, oldest first.</summary>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The endpoints.</returns>
    public Task<IReadOnlyList<ModelEndpoint>> ListEndpointsAsync(CancellationToken cancellationToken = default) => Records.ListAsync(cancellationToken);

    /// <summary>Returns an endpoint of this project by id.</summary>
    /// <param name="id">The endpoint's id.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The endpoint.</returns>
    /// <exception cref="NotFoundException">No endpoint of this project has the id (an endpoint of another project is not found either).</exception>
    public async Task<ModelEndpoint> GetEndpointAsync(string id, CancellationToken cancellationToken = default)
    {
        Names.Required(id, "endpoint id", "Pass the Id of a ModelEndpoint of this project (see ListEndpointsAsync).");
        return await Records.FindByIdAsync(id, cancellationToken).ConfigureAwait(false) ?? throw Records.NotFound(id);
    }

    /// <summary>Returns the endpoint of a model and version.</summary>
    /// <param name="model">The served model's name.</param>
    /// <param name="modelVersion">Its version, or <see langword="null"/> for an unversioned model.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The endpoint.</returns>
    /// <exception cref="NotFoundException">The model has no endpoint with that version.</exception>
    public async Task<ModelEndpoint> FindEndpointAsync(string model, string? modelVersion = null, CancellationToken cancellationToken = default)
    {
        Names.Required(model, "model name", "Pass the served model's name, e.g. 'delay'.");
        var endpoints = await Records.ListAsync(cancellationToken).ConfigureAwait(false);
        var endpoint = endpoints.FirstOrDefault(e => e.Model == model && e.ModelVersion == modelVersion);
        if (endpoint is not null) return endpoint;
        var name = modelVersion is null ? model : $"{model}:{modelVersion}";
        throw new NotFoundException("model endpoint", name,
            $"The model endpoint '{name}' does not exist in project '{Project.Name}'; its endpoints are {Names.ListSome(endpoints.Select(e => e.Name))}. Serve the model with capture on (StartCaptureAsync) or register it with RegisterEndpointAsync.");
    }

    /// <summary>
    /// Starts capturing the requests of a server: registers (or finds) an endpoint per served model and version, with the
    /// reference from <see cref="CaptureOptions.References"/> or else the profile of the training data linked to the model
    /// version of the same name in the registry (<see cref="MLOps.Registry.ModelVersionRecord.TrainingData"/>), then subscribes to the server.
    /// </summary>
    /// <param name="server">The server.</param>
    /// <param name="options">The capture options (default: every request, 10,000 buffered).</param>
    /// <param name="cancellationToken">Cancels the registration.</param>
    /// <returns>The session; dispose it to stop capturing (it flushes what is buffered).</returns>
    /// <exception cref="ValidationException">An option is out of range.</exception>
    public async Task<CaptureSession> StartCaptureAsync(InferenceServer server, CaptureOptions? options = null, CancellationToken cancellationToken = default)
        => await StartCaptureCoreAsync(server, options, startWriter: true, cancellationToken).ConfigureAwait(false);

    internal async Task<CaptureSession> StartCaptureCoreAsync(InferenceServer server, CaptureOptions? options, bool startWriter, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(server);
        options ??= new CaptureOptions();
        options.Validate();
        var endpoints = new List<ModelEndpoint>();
        foreach (var model in server.Models)
            endpoints.Add(await RegisterServedAsync(model.Name, model.Version, model, options, cancellationToken).ConfigureAwait(false));
        var session = new CaptureSession(this, server, endpoints, options);
        session.Start(startWriter);
        return session;
    }

    /// <summary>Registers (or reuses) the endpoint of a served model version with its reference and marks it
    /// <see cref="EndpointState.Active"/>: at the start of a capture, and when the capture first sees a version served later.</summary>
    internal async Task<ModelEndpoint> RegisterServedAsync(string model, string? version, IInferenceModel? served, CaptureOptions options, CancellationToken cancellationToken)
    {
        var reference = options.References.TryGetValue(model, out var given) ? given : await LinkedReferenceAsync(model, version, served, cancellationToken).ConfigureAwait(false);
        var endpoint = await Records.RegisterAsync(model, version, reference, cancellationToken).ConfigureAwait(false);
        return await Records.AddTrafficAsync(endpoint.Id, default, EndpointState.Active, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The profile of the training data linked to the registry version a model serves, or null (logged) when there is none. A
    /// model that says which registry version it serves (<see cref="IRegistryModel"/>, as MLNetModel does) is looked up by that
    /// record, whatever name it is served under, when <paramref name="version"/> is the one it serves now; another version of
    /// it (served before or after an upgrade) by that record's registry name and the version number; any other model by its
    /// served name and version number.
    /// </summary>
    private async Task<EndpointReference?> LinkedReferenceAsync(string model, string? version, IInferenceModel? served, CancellationToken cancellationToken)
    {
        var name = version is null ? model : $"{model}:{version}";
        try
        {
            ModelVersionRecord record;
            var registry = served is IRegistryModel { RegistryVersion: { } current } && current.Project == Project.Name ? current : null;
            if (registry is not null && (version == served!.Version || version == registry.Version.ToString(System.Globalization.CultureInfo.InvariantCulture)))
                record = registry;
            else if (int.TryParse(version, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var number))
                record = await Project.Models.GetVersionAsync(registry?.Name ?? model, number, cancellationToken).ConfigureAwait(false);
            else
            {
                CaptureLog.NoReference(_logger, name, "the model is not a registry version (no IRegistryModel.RegistryVersion and the version is not a number)");
                return null;
            }
            if (record.TrainingData is { } data)
                return new EndpointReference(data, await Project.Artifacts.GetDatasetProfileAsync(data, cancellationToken).ConfigureAwait(false));
            if (record.FeatureVector is { } vector)
                return new EndpointReference(vector, null);
            CaptureLog.NoReference(_logger, name, $"the model version {record.Name} v{record.Version} links no training data (ModelLogOptions.TrainingData)");
            return null;
        }
        catch (MLOpsException ex)
        {
            CaptureLog.NoReference(_logger, name, ex.Message);
            return null;
        }
    }

    /// <summary>
    /// Records results of a batch inference against an endpoint (MLRun's <c>record_results</c>): the rows of
    /// <paramref name="inputs"/> and <paramref name="outputs"/> side by side, stored like captured requests (columns
    /// <c>input.{name}</c> and <c>output.{name}</c>, request ids <c>{batch id}-{row}</c>, status 200, no latency) and counted
    /// as requests of the endpoint.
    /// </summary>
    /// <param name="model">The endpoint's model name.</param>
    /// <param name="modelVersion">The endpoint's model version, or <see langword="null"/>.</param>
    /// <param name="inputs">The input features.</param>
    /// <param name="outputs">The predictions, one row per input row.</param>
    /// <param name="time">When the predictions were made; <see langword="null"/> for now.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The endpoint with its updated counters.</returns>
    /// <exception cref="NotFoundException">The endpoint does not exist.</exception>
    /// <exception cref="ValidationException">The batches have different row counts, or no row.</exception>
    public async Task<ModelEndpoint> RecordResultsAsync(string model, string? modelVersion, RecordBatch inputs, RecordBatch outputs, DateTimeOffset? time = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(outputs);
        var endpoint = await FindEndpointAsync(model, modelVersion, cancellationToken).ConfigureAwait(false);
        if (inputs.Length != outputs.Length || inputs.Length == 0)
            throw new ValidationException($"RecordResultsAsync: inputs has {inputs.Length} rows and outputs {outputs.Length}; pass the same number of rows (at least 1), one output row per input row.");
        var at = time ?? Project.TimeProvider.GetUtcNow();
        var batch = ResultBatch.Build(Guid.CreateVersion7(at).ToString("N"), at, inputs, outputs);
        await CaptureFiles.WriteAsync(CaptureRoot, endpoint.Id, at, batch, cancellationToken).ConfigureAwait(false);
        await TrafficFiles.WriteAsync(CaptureRoot, endpoint.Id, [new TrafficMinute(at.UtcTicks / TimeSpan.TicksPerMinute, inputs.Length, 0, 0)], cancellationToken).ConfigureAwait(false);
        return await Records.AddTrafficAsync(endpoint.Id, new EndpointTraffic(inputs.Length, 0, 0, at, at), null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads the captured and recorded rows of an endpoint of this project whose time is in [<paramref name="from"/>,
    /// <paramref name="to"/>), file by file in time order (rows are in time order within a file; files of the same hour may overlap).</summary>
    /// <param name="endpointId">The endpoint's id.</param>
    /// <param name="from">The first time included, or <see langword="null"/>.</param>
    /// <param name="to">The first time excluded, or <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the enumeration.</param>
    /// <returns>The batches (columns: <see cref="CaptureColumns"/>).</returns>
    /// <exception cref="NotFoundException">No endpoint of this project has the id.</exception>
    public async IAsyncEnumerable<RecordBatch> ReadCapturedAsync(string endpointId, DateTimeOffset? from = null, DateTimeOffset? to = null, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var endpoint = await GetEndpointAsync(endpointId, cancellationToken).ConfigureAwait(false);
        await foreach (var batch in CaptureFiles.ReadAsync(CaptureRoot, endpoint.Id, from, to, cancellationToken).ConfigureAwait(false))
            yield return batch;
    }

    /// <summary>
    /// Analyses windows on demand: for one endpoint or all, runs every application of the endpoint (or the
    /// <see cref="AnalysisRequest.Applications"/> subset) on each closed window, stores the results and returns them. Without a time
    /// range it analyses the closed windows after each endpoint's <see cref="Endpoints.ModelEndpoint.AnalyzedUntil"/> and moves it
    /// (as the schedule does); with a range it (re-)analyses the closed windows of the range, replacing their stored results, and
    /// leaves the watermark. Windows without captured rows or counted requests are skipped.
    /// </summary>
    /// <param name="request">What to analyse; <see langword="null"/> for the pending windows of every endpoint with every application.</param>
    /// <param name="cancellationToken">Cancels the analysis (applications are cancelled; nothing is stored for the current window).</param>
    /// <returns>The analysed windows, per endpoint in time order.</returns>
    /// <exception cref="NotFoundException">No endpoint of this project has <see cref="AnalysisRequest.EndpointId"/>.</exception>
    /// <exception cref="ValidationException">An application name is not registered, or the range is empty.</exception>
    public Task<IReadOnlyList<WindowAnalysis>> AnalyzeAsync(AnalysisRequest? request = null, CancellationToken cancellationToken = default)
        => Engine.AnalyzeAsync(request ?? new AnalysisRequest(), isolateEndpoints: false, cancellationToken);

    /// <summary>Starts the scheduled analysis without dependency injection (in a host, <c>AddMonitoring()</c> runs it): a pass now,
    /// then every <see cref="MonitoringOptions.AnalysisInterval"/>.</summary>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <returns>The schedule; dispose it to stop.</returns>
    public Task<AnalysisSchedule> StartAnalysisAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var schedule = new AnalysisSchedule(this);
        schedule.Start();
        return Task.FromResult(schedule);
    }

    /// <summary>Queries the stored results, as a time series ordered by window start (then application and name).</summary>
    /// <param name="endpointId">An endpoint's id, or <see langword="null"/> for every endpoint of the project.</param>
    /// <param name="application">An application's name, or <see langword="null"/> for all.</param>
    /// <param name="name">A result's name, or <see langword="null"/> for all.</param>
    /// <param name="from">The first window start included, or <see langword="null"/>.</param>
    /// <param name="to">The first window start excluded, or <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <returns>The results.</returns>
    /// <exception cref="NotFoundException">No endpoint of this project has the id.</exception>
    public async Task<IReadOnlyList<MonitoringResultRecord>> GetResultsAsync(string? endpointId = null, string? application = null, string? name = null,
        DateTimeOffset? from = null, DateTimeOffset? to = null, CancellationToken cancellationToken = default)
    {
        var results = new List<MonitoringResultRecord>();
        foreach (var id in await QueryEndpointsAsync(endpointId, application, cancellationToken).ConfigureAwait(false))
        {
            await foreach (var (result, _) in ResultFiles.ReadAsync(CaptureRoot, id, application, from, to, cancellationToken).ConfigureAwait(false))
                if (result is not null && (name is null || result.Name == name)) results.Add(result);
        }
        return [.. results.OrderBy(r => r.WindowStart).ThenBy(r => r.EndpointId, StringComparer.Ordinal).ThenBy(r => r.Application, StringComparer.Ordinal)];
    }

    /// <summary>Queries the stored metrics, as a time series ordered by window start (then application and name).</summary>
    /// <param name="endpointId">An endpoint's id, or <see langword="null"/> for every endpoint of the project.</param>
    /// <param name="application">An application's name, or <see langword="null"/> for all.</param>
    /// <param name="name">A metric's name, or <see langword="null"/> for all.</param>
    /// <param name="from">The first window start included, or <see langword="null"/>.</param>
    /// <param name="to">The first window start excluded, or <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <returns>The metrics.</returns>
    /// <exception cref="NotFoundException">No endpoint of this project has the id.</exception>
    public async Task<IReadOnlyList<MonitoringMetricRecord>> GetMetricsAsync(string? endpointId = null, string? application = null, string? name = null,
        DateTimeOffset? from = null, DateTimeOffset? to = null, CancellationToken cancellationToken = default)
    {
        var metrics = new List<MonitoringMetricRecord>();
        foreach (var id in await QueryEndpointsAsync(endpointId, application, cancellationToken).ConfigureAwait(false))
        {
            await foreach (var (_, metric) in ResultFiles.ReadAsync(CaptureRoot, id, application, from, to, cancellationToken).ConfigureAwait(false))
                if (metric is not null && (name is null || metric.Name == name)) metrics.Add(metric);
        }
        return [.. metrics.OrderBy(m => m.WindowStart).ThenBy(m => m.EndpointId, StringComparer.Ordinal).ThenBy(m => m.Application, StringComparer.Ordinal)];
    }

    private async Task<IEnumerable<string>> QueryEndpointsAsync(string? endpointId, string? application, CancellationToken cancellationToken)
    {
        if (application is not null) MonitoringApplicationRegistry.ValidateName(application, "(query)");
        if (endpointId is not null) return [(await GetEndpointAsync(endpointId, cancellationToken).ConfigureAwait(false)).Id];
        return (await ListEndpointsAsync(cancellationToken).ConfigureAwait(false)).Select(e => e.Id);
    }
}
