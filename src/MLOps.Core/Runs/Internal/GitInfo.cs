using System.Collections.Concurrent;
using System.Diagnostics;

namespace MLOps.Runs.Internal;

/// <summary>The git commit and dirty flag of a work tree, read with the <c>git</c> command and cached briefly.</summary>
internal static class GitInfo
{
    private static readonly ConcurrentDictionary<string, (long At, string? Commit, bool? Dirty)> Cache = new(StringComparer.Ordinal);
    private const long CacheMilliseconds = 5_000;

    public static (string? Commit, bool? Dirty) Detect(string directory)
    {
        var now = Environment.TickCount64;
        if (Cache.TryGetValue(directory, out var cached) && now - cached.At < CacheMilliseconds)
            return (cached.Commit, cached.Dirty);
        string? commit = null;
        bool? dirty = null;
        if (FindWorkTree(directory) is not null)
        {
            commit = Git(directory, "rev-parse HEAD")?.Trim();
            if (commit is { Length: 40 })
            {
                var status = Git(directory, "status --porcelain --untracked-files=no");
                dirty = status is null ? null : status.Trim().Length > 0;
            }
            else
            {
                commit = null;
            }
        }
        Cache[directory] = (now, commit, dirty);
        return (commit, dirty);
    }

    private static string? FindWorkTree(string directory)
    {
        for (var d = new DirectoryInfo(directory); d is not null; d = d.Parent)
            if (Directory.Exists(Path.Combine(d.FullName, ".git")) || File.Exists(Path.Combine(d.FullName, ".git")))
                return d.FullName;
        return null;
    }

    private static string? Git(string directory, string arguments)
    {
        try
        {
            using var p = Process.Start(new ProcessStartInfo("git", arguments)
            {
                WorkingDirectory = directory,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
                CreateNoWindow = true,
            });
            if (p is null) return null;
            var output = p.StandardOutput.ReadToEndAsync();
            _ = p.StandardError.ReadToEndAsync();
            if (!p.WaitForExit(5_000))
            {
                try { p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
                return null;
            }
            return p.ExitCode == 0 ? output.GetAwaiter().GetResult() : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null; // git is not installed
        }
        catch (IOException)
        {
            return null;
        }
    }
}
