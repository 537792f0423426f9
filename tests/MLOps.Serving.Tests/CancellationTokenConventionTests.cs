using System.Reflection;
using MLOps.FeatureStore;

namespace MLOps.Serving.Tests;

/// <summary>The "cancellationToken everywhere" rule of every package: each public asynchronous method (returning
/// <see cref="Task"/>, <see cref="Task{TResult}"/>, <see cref="ValueTask"/>, <see cref="ValueTask{TResult}"/> or
/// <see cref="IAsyncEnumerable{T}"/>) of MLOps.Core, MLOps.FeatureStore and MLOps.Serving takes a
/// <see cref="CancellationToken"/> named <c>cancellationToken</c> as its last parameter.</summary>
[Parallelizable(ParallelScope.All)]
public sealed class CancellationTokenConventionTests
{
    /// <summary>Methods whose signature a .NET interface fixes: <c>DisposeAsync()</c> has no token by contract.</summary>
    private static readonly HashSet<string> Exceptions = new(StringComparer.Ordinal) { "DisposeAsync" };

    internal static IEnumerable<Assembly> Packages() =>
        [typeof(MLOpsProject).Assembly, typeof(FeatureStoreCatalog).Assembly, typeof(ServingException).Assembly, typeof(MLOps.Monitoring.MonitoringCatalog).Assembly];

    [Test]
    public void PublicAsyncMethods_AllPackages_TakeCancellationTokenLast()
    {
        var offenders = Offenders(Packages()).ToList();
        Assert.That(offenders, Is.Empty,
            "These public asynchronous methods do not take a CancellationToken named cancellationToken as their last parameter; add (or rename to) "
            + "'CancellationToken cancellationToken = default' last:" + Environment.NewLine + string.Join(Environment.NewLine, offenders));
    }

    [Test]
    public void Offenders_MethodWithoutToken_IsListed()
    {
        // the guard itself: a public async method without a token is reported, one with a token or a fixed signature is not
        var offenders = Offenders([typeof(CancellationTokenConventionTests).Assembly])
            .Where(o => o.Contains(nameof(Sample), StringComparison.Ordinal)).ToList();
        Assert.That(offenders, Is.EquivalentTo(new[]
        {
            $"{typeof(Sample).FullName}.{nameof(Sample.WithoutTokenAsync)}(Int32)",
            $"{typeof(Sample).FullName}.{nameof(Sample.StreamAsync)}()",
            $"{typeof(Sample).FullName}.{nameof(Sample.OtherNameAsync)}(CancellationToken)",
        }));
    }

    internal static IEnumerable<string> Offenders(IEnumerable<Assembly> assemblies)
    {
        const BindingFlags Flags = BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
        foreach (var type in assemblies.SelectMany(a => a.GetExportedTypes()).OrderBy(t => t.FullName, StringComparer.Ordinal))
        {
            foreach (var method in type.GetMethods(Flags).Where(m => !m.IsSpecialName).OrderBy(m => m.Name, StringComparer.Ordinal))
            {
                if (!IsAsync(method.ReturnType) || Exceptions.Contains(method.Name))
                    continue;
                if (IsEnumeratorFactory(method))
                    continue;
                var parameters = method.GetParameters();
                if (parameters.Length > 0 && parameters[^1].ParameterType == typeof(CancellationToken) && parameters[^1].Name == "cancellationToken")
                    continue;
                yield return $"{type.FullName}.{method.Name}({string.Join(", ", parameters.Select(p => p.ParameterType.Name))})";
            }
        }
    }

    private static bool IsAsync(Type type)
    {
        if (type == typeof(Task) || type == typeof(ValueTask))
            return true;
        if (!type.IsGenericType)
            return false;
        var definition = type.GetGenericTypeDefinition();
        return definition == typeof(Task<>) || definition == typeof(ValueTask<>) || definition == typeof(IAsyncEnumerable<>);
    }

    /// <summary><c>IAsyncEnumerable{T}.GetAsyncEnumerator(CancellationToken)</c> has its token by contract (and returns an
    /// enumerator, not a task); a method returning <c>IAsyncEnumerable</c> must take the token itself.</summary>
    private static bool IsEnumeratorFactory(MethodInfo method) =>
        method.Name == nameof(IAsyncEnumerable<int>.GetAsyncEnumerator);

    /// <summary>A type of this assembly that breaks the rule, to prove the guard finds it.</summary>
    public static class Sample
    {
        /// <summary>No token: reported.</summary>
        public static Task WithoutTokenAsync(int value) => Task.Delay(value);

        /// <summary>A token last: fine.</summary>
        public static Task WithTokenAsync(int value, CancellationToken cancellationToken = default) => Task.Delay(value, cancellationToken);

        /// <summary>A stream without a token: reported.</summary>
        public static async IAsyncEnumerable<int> StreamAsync()
        {
            await Task.Yield();
            yield return 1;
        }

        /// <summary>A token of another name: reported.</summary>
        public static Task OtherNameAsync(CancellationToken ct) => Task.Delay(1, ct);

        /// <summary>A fixed signature: fine.</summary>
        public static ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
