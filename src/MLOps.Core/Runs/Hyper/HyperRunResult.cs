using MLOps.Runs.Internal;

namespace MLOps.Runs;

/// <summary>How a hyper-parameter search generates its iterations.</summary>
public enum HyperStrategy
{
    /// <summary>Every combination of the value lists (cartesian product), the last parameter varying fastest.</summary>
    Grid = 0,
    /// <summary>The value lists zipped by position: iteration <c>i</c> takes the <c>i</c>-th value of every list.</summary>
    List = 1,
    /// <summary>Parameters sampled from ranges and choices with a seeded generator.</summary>
    Random = 2,
}

/// <summary>Why a hyper-parameter search stopped starting iterations.</summary>
public enum HyperStopReason
{
    /// <summary>Every iteration ran.</summary>
    AllIterations = 0,
    /// <summary>A completed iteration met the stop condition (<see cref="HyperRunBuilder.StopWhen(string)"/>).</summary>
    StopCondition = 1,
    /// <summary>As many iterations failed as <see cref="HyperRunBuilder.MaxErrors"/> allows; the parent failed.</summary>
    MaxErrors = 2,
}

/// <summary>One iteration (child run) of a hyper-parameter search.</summary>
/// <remarks>Immutable and thread-safe.</remarks>
public abstract class HyperIteration
{
    private protected HyperIteration(int number, RunRecord run, IReadOnlyDictionary<string, object> parameters, double? objective, Exception? exception)
    {
        Number = number;
        Run = run;
        Parameters = parameters;
        Objective = objective;
        Exception = exception;
    }

    /// <summary>The iteration number, 1 for the first (also <see cref="RunRecord.Iteration"/> of <see cref="Run"/>).</summary>
    public int Number { get; }

    /// <summary>The child run as stored when it ended.</summary>
    public RunRecord Run { get; }

    /// <summary>The searched parameters of this iteration with the values given to the strategy (the child run also has the shared parameters).</summary>
    public IReadOnlyDictionary<string, object> Parameters { get; }

    /// <summary>The child's results.</summary>
    public IReadOnlyDictionary<string, double> Results => Run.Results;

    /// <summary>The child's state: <see cref="RunState.Completed"/> or <see cref="RunState.Failed"/> (or <see cref="RunState.Aborted"/>
    /// when the handler aborted its own run; such an iteration is neither selected nor counted as an error).</summary>
    public RunState State => Run.State;

    /// <summary>The error of a failed iteration, else <see langword="null"/>.</summary>
    public string? Error => Run.Error;

    /// <summary>What the handler threw in a failed iteration, else <see langword="null"/>.</summary>
    public Exception? Exception { get; }

    /// <summary>The value of the selector's key (result, else latest metric) for a completed iteration that has it, else <see langword="null"/>.</summary>
    public double? Objective { get; }
}

/// <summary>One iteration (child run) of a hyper-parameter search with what its handler returned.</summary>
/// <typeparam name="T">The handler's result, such as a trained model.</typeparam>
/// <remarks>Immutable and thread-safe.</remarks>
public sealed class HyperIteration<T> : HyperIteration
{
    internal HyperIteration(int number, RunRecord run, IReadOnlyDictionary<string, object> parameters, double? objective, Exception? exception, T? value)
        : base(number, run, parameters, objective, exception) => Value = value;

    /// <summary>What the handler returned; <see langword="default"/> for a failed iteration.</summary>
    public T? Value { get; }
}

/// <summary>
/// The outcome of a hyper-parameter search: the parent run, every iteration and the best one.
/// <see cref="ToString"/> renders an aligned iteration table for consoles and notebooks.
/// </summary>
/// <remarks>Immutable and thread-safe.</remarks>
public abstract class HyperRunResult
{
    private protected HyperRunResult(RunRecord parent, HyperStrategy strategy, IReadOnlyList<string> parameterNames, HyperSelector? selector, HyperStopReason stopReason)
    {
        Parent = parent;
        Strategy = strategy;
        ParameterNames = parameterNames;
        Selector = selector;
        StopReason = stopReason;
    }

    /// <summary>The parent run as stored after it ended. When it completed, its results are the best iteration's plus
    /// <c>best_iteration</c>, its outputs the best iteration's plus <c>iteration_results</c> (the iteration table).</summary>
    public RunRecord Parent { get; }

    /// <summary>The strategy that generated the iterations.</summary>
    public HyperStrategy Strategy { get; }

    /// <summary>The searched parameter keys, in the order they were added.</summary>
    public IReadOnlyList<string> ParameterNames { get; }

    /// <summary>How the best iteration was picked, or <see langword="null"/> when no selector was set.</summary>
    public HyperSelector? Selector { get; }

    /// <summary>Why the search stopped starting iterations.</summary>
    public HyperStopReason StopReason { get; }

    /// <summary>The iterations that ran, by number.</summary>
    public IReadOnlyList<HyperIteration> Iterations => IterationsCore;

    /// <summary>The best completed iteration by the selector, or <see langword="null"/> without a selector or when no completed iteration has its key.</summary>
    public HyperIteration? Best => BestCore;

    private protected abstract IReadOnlyList<HyperIteration> IterationsCore { get; }

    private protected abstract HyperIteration? BestCore { get; }

    /// <summary>An aligned table: one line per iteration with its state, parameters and results, the best marked with '*',
    /// followed by the errors of failed iterations.</summary>
    /// <returns>The table.</returns>
    public override string ToString() => HyperTable.Render(this);
}

/// <summary>The outcome of a hyper-parameter search whose handler returns a value (such as a trained model).</summary>
/// <typeparam name="T">The handler's result.</typeparam>
/// <remarks>Immutable and thread-safe.</remarks>
public sealed class HyperRunResult<T> : HyperRunResult
{
    internal HyperRunResult(RunRecord parent, HyperStrategy strategy, IReadOnlyList<string> parameterNames, HyperSelector? selector, HyperStopReason stopReason,
        IReadOnlyList<HyperIteration<T>> iterations, HyperIteration<T>? best)
        : base(parent, strategy, parameterNames, selector, stopReason)
    {
        Iterations = iterations;
        Best = best;
    }

    /// <summary>The iterations that ran, by number, with their handlers' values.</summary>
    public new IReadOnlyList<HyperIteration<T>> Iterations { get; }

    /// <summary>The best completed iteration by the selector (with its handler's value), or <see langword="null"/>.</summary>
    public new HyperIteration<T>? Best { get; }

    private protected override IReadOnlyList<HyperIteration> IterationsCore => Iterations;

    private protected override HyperIteration? BestCore => Best;
}

/// <summary>A hyper-parameter search failed: too many iterations failed (<see cref="HyperRunBuilder.MaxErrors"/>), none
/// succeeded, or none had the selector's key. <see cref="RunFailedException.Run"/> is the failed parent run and
/// <see cref="Result"/> holds every iteration that ran.</summary>
public class HyperRunFailedException : RunFailedException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="result">The search's outcome; its parent is the failed run.</param>
    /// <param name="innerException">Why it failed (with the last iteration error as its own inner exception, when there is one).</param>
    public HyperRunFailedException(HyperRunResult result, Exception innerException)
        : base(result?.Parent!, innerException) => Result = result!;

    /// <summary>Creates the exception with no message.</summary>
    public HyperRunFailedException() => Result = null!;

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What went wrong.</param>
    public HyperRunFailedException(string message) : base(message) => Result = null!;

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The cause.</param>
    public HyperRunFailedException(string message, Exception? innerException) : base(message, innerException) => Result = null!;

    /// <summary>The search's outcome: the failed parent and every iteration that ran.</summary>
    public HyperRunResult Result { get; }
}
