using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace MLOps.Internal;

/// <summary>
/// Argument checks in the one style of every MLOps package: a null object argument is an
/// <see cref="ArgumentNullException"/> (a programming error), a bad text value a <see cref="ValidationException"/> that
/// names the field, the value and the fix (see <see cref="Names.Required"/>). Linked as source into each package.
/// </summary>
internal static class Throw
{
    /// <summary>Throws an <see cref="ArgumentNullException"/> naming the argument when it is null.</summary>
    /// <returns>The argument.</returns>
    public static T IfNull<T>([NotNull] T? argument, [CallerArgumentExpression(nameof(argument))] string? paramName = null)
        where T : class
    {
        if (argument is null)
            throw new ArgumentNullException(paramName);
        return argument;
    }

    /// <summary>
    /// A required text argument: null, empty or white space is a <see cref="ValidationException"/> naming the argument,
    /// the value and the fix (the same check as <see cref="Names.Required"/>, with the argument's name as the field).
    /// </summary>
    /// <returns>The argument.</returns>
    public static string IfNullOrWhitespace([NotNull] string? argument, [CallerArgumentExpression(nameof(argument))] string? paramName = null)
        => Names.Required(argument, $"'{paramName}' argument", $"Pass a non-empty '{paramName}'.");
}
