using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace MLOps.Internal;

/// <summary>Argument checks that name the argument (after dotnet/extensions' Throw helper).</summary>
internal static class Throw
{
    public static T IfNull<T>([NotNull] T? argument, [CallerArgumentExpression(nameof(argument))] string? paramName = null)
        where T : class
    {
        if (argument is null)
            throw new ArgumentNullException(paramName);
        return argument;
    }

    public static string IfNullOrWhitespace([NotNull] string? argument, [CallerArgumentExpression(nameof(argument))] string? paramName = null)
    {
        if (argument is null)
            throw new ArgumentNullException(paramName);
        if (string.IsNullOrWhiteSpace(argument))
            throw new ArgumentException($"'{paramName}' must not be empty or white space.", paramName);
        return argument;
    }
}
