using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using MLOps.FeatureStore;
using MLOps.Serving.Graphs;
using MLOps.Serving.Hosting;
using MLOps.Serving.Models;
using MLOps.Serving.Tests.Models;

namespace MLOps.Serving.Tests.Hosting;

/// <summary><c>AddMLOps(...).AddFeatureStore().AddServing(...)</c> on one builder, in a real generic host.</summary>
public class ServingDependencyInjectionTests
{
    [Test]
    public async Task AddServing_ChainedOnAddMLOps_ProjectOpensAndServerLoadsWhenTheHostStarts()
    {
        using var folder = new TempFolder();
        var model = new DelayRiskModel("delay-risk", "1");
        await using var graph = ServingGraph.Router("flights").Route(new ModelStep(model)).Build();
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddMLOps("serving-di", b => b.UseHome(folder.Path).CaptureGit(false)).AddFeatureStore().AddServing(graph, model).AddServing(graph, model);
        using var host = builder.Build();
        var server = host.Services.GetRequiredService<InferenceServer>();
        Assert.That(server.IsReady, Is.False);

        await host.StartAsync();
        Assert.That(server.IsReady, Is.True);
        Assert.That(model.Loads, Is.EqualTo(1), "the second AddServing on the builder registered nothing");
        var project = host.Services.GetRequiredService<MLOpsProject>();
        Assert.That(host.Services.GetRequiredService<FeatureStoreCatalog>(), Is.SameAs(project.FeatureStore));
        Assert.That(host.Services.GetRequiredService<ServingHostState>().IsStopping, Is.False);
        await host.StopAsync();
    }

    [Test]
    public async Task AddServing_OnKeyedBuilders_EachKeyHasItsServer()
    {
        using var folder = new TempFolder();
        var a = new DelayRiskModel("model-a", "1");
        var b = new DelayRiskModel("model-b", "1");
        await using var graphA = ServingGraph.Router("a").Route(new ModelStep(a)).Build();
        await using var graphB = ServingGraph.Router("b").Route(new ModelStep(b)).Build();
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddKeyedMLOps("a", o => o.Project("serving-a").UseHome(folder.File("a")).CaptureGit(false)).AddServing(graphA, a);
        builder.Services.AddKeyedMLOps("b", o => o.Project("serving-b").UseHome(folder.File("b")).CaptureGit(false)).AddServing(graphB, b);
        using var host = builder.Build();
        await host.StartAsync();
        var serverA = host.Services.GetRequiredKeyedService<InferenceServer>("a");
        var serverB = host.Services.GetRequiredKeyedService<InferenceServer>("b");
        Assert.That((serverA.IsReady, serverB.IsReady), Is.EqualTo((true, true)));
        Assert.That(serverA.IsModelReady("model-a"), Is.True);
        Assert.That(() => serverA.IsModelReady("model-b"), Throws.Exception);
        Assert.That(host.Services.GetService<InferenceServer>(), Is.Null);
        await host.StopAsync();
    }
}
