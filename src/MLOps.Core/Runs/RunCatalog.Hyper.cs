namespace MLOps.Runs;

public sealed partial class RunCatalog
{
    /// <summary>Starts configuring a hyper-parameter search: a parent run named <paramref name="name"/> with one child run per
    /// parameter set, the best picked by a selector.
    /// <code>
    /// var result = await project.Runs.Hyper("train")
    ///     .Grid(h =&gt; h.Add("trees", 20, 100).Add("leaves", 16, 64))
    ///     .SelectBy("max:auc")
    ///     .RunAsync(async (run, ct) =&gt; { ...; await run.LogResultAsync("auc", auc, ct); return model; });
    /// Console.WriteLine(result); // the iteration table, best marked with '*'
    /// </code>
    /// </summary>
    /// <param name="name">The run name of the parent and of every iteration, e.g. <c>train</c> (validated with the rest of the search by <c>RunAsync</c>).</param>
    /// <returns>A builder; finish it with <see cref="HyperRunBuilder.RunAsync{T}"/>.</returns>
    public HyperRunBuilder Hyper(string name) => new(this, name);

    internal MLOpsProject Project => _project;
}
