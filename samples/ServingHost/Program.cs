// ServingHost: serves the QuickStart's production flight-delay model over the Open Inference Protocol (KServe V2) until
// Ctrl+C. Run the QuickStart first, with the same MLOPS_HOME (or from the same folder), then:
//   dotnet run --project samples/ServingHost -- [--urls http://127.0.0.1:8080]
// A request carries a flight's own fields (origin, destination, distance, hour, day_of_week); the serving graph adds the
// origin's features from the online store, and the model follows the `production` alias (polled every 10 seconds), so
// moving the alias to another version upgrades the host without failing a request.
using System.Runtime.InteropServices;
using MLOps;
using MLOps.FeatureStore;
using MLOps.Registry;
using MLOps.Serving;
using MLOps.Serving.Enrichment;
using MLOps.Serving.Graphs;
using MLOps.Serving.Hosting;
using MLOps.Serving.Models;

const string ModelUri = "store://models/flights/delay-model:production";
const string Usage = "Usage: dotnet run --project samples/ServingHost -- [--urls http://127.0.0.1:8080]";

var urls = "http://127.0.0.1:8080";
for (int i = 0; i < args.Length; i++)
{
    if (args[i] == "--urls" && i + 1 < args.Length)
        urls = args[++i];
    else if (args[i].StartsWith("--urls=", StringComparison.Ordinal))
        urls = args[i]["--urls=".Length..];
    else
    {
        Console.Error.WriteLine($"Unknown argument '{args[i]}'. {Usage}");
        return 2;
    }
}

var home = Path.GetFullPath(Environment.GetEnvironmentVariable(MLOpsOptions.HomeVariable) ?? ".mlops");
Console.WriteLine($"MLOps home: {home}");
if (!Directory.Exists(home))
    return NothingToServe($"there is no MLOps home at {home}.");
await using var project = await MLOpsProject.OpenAsync("flights");
ModelVersionRecord production;
try
{
    production = await project.Models.ResolveAsync(ModelUri);
}
catch (NotFoundException e)
{
    return NothingToServe(e.Message);
}

// The graph: the origin's online features (the delay-features vector), then the ML.NET model of the production alias.
await using var model = MLNetModel.Create<FlightInput, DelayPrediction>(project, "delay-model", ModelUri,
    new ModelHandleOptions { PollInterval = TimeSpan.FromSeconds(10) });
await using var graph = ServingGraph.Flow("flight-delays")
    .To(new FeatureEnrichmentStep(project.FeatureStore, "delay-features"))
    .To(new ModelStep(model))
    .Build();
var server = graph.ToMockServer(new InferenceServerOptions { Name = "mlops-flights" }, model);

InferenceHttpHost host;
try
{
    host = await server.StartHttpAsync(urls);
}
catch (ValidationException e)
{
    Console.Error.WriteLine($"{e.Message} {Usage}");
    return 2;
}
catch (IOException e)
{
    Console.Error.WriteLine($"Cannot listen on {urls}: {e.Message} Pick another address with --urls.");
    return 1;
}
catch (ServingException e)
{
    Console.Error.WriteLine($"The model or the features could not be loaded: {e.Message}");
    return 1;
}

await using (host)
{
    model.Handle!.VersionChanged += (_, e) => Console.WriteLine($"{DateTime.Now:T} production moved: now serving {e.Current.Uri} (was v{e.Previous.Version})");
    model.Handle.UpgradeFailed += (_, e) => Console.WriteLine($"{DateTime.Now:T} could not upgrade to {e.Target?.Uri}: {e.Error.Message} (still serving v{e.Current.Version})");

    var at = host.BaseAddress.ToString().TrimEnd('/');
    var flights = new List<Departure> { new("ORD", "LAX", 1745, new DateTime(2001, 4, 2, 9, 5, 0)), new("ATL", "DFW", 731, new DateTime(2001, 4, 2, 17, 40, 0)) };
    Console.WriteLine($"Serving {production.Uri} (v{production.Version}) as 'delay-model' at {at}, following the production alias. Ctrl+C stops.");
    Console.WriteLine();
    Console.WriteLine($"curl {at}/v2/health/ready");
    Console.WriteLine($"curl {at}/v2/models/delay-model");
    Console.WriteLine($"curl -X POST {at}/v2/models/delay-model/infer -H 'Content-Type: application/json' \\");
    Console.WriteLine($"  -d '{DelayRequests.Tensors("1", flights)}'");
    Console.WriteLine($"curl -X POST {at}/v2/models/delay-model/infer -H 'Content-Type: application/json' \\");
    Console.WriteLine($"  -d '{DelayRequests.Rows(flights)}'");
    Console.WriteLine();

    var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
    using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.TrySetResult(); });
    using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.TrySetResult(); });
    await stop.Task;
    Console.WriteLine($"Stopping: readiness answers 503 while {host.State.InFlight} requests in flight finish.");
}
Console.WriteLine("Stopped.");
return 0;

static int NothingToServe(string why)
{
    Console.Error.WriteLine($"Nothing to serve: {why}");
    Console.Error.WriteLine("Run the QuickStart first, with the same MLOPS_HOME (or from the same folder): it trains delay-model, registers it and points its production alias at it.");
    Console.Error.WriteLine("  dotnet run --project samples/QuickStart");
    return 1;
}
