using Berth.Linux;

namespace Berth.Runtime.Init;

/// <summary>args[0] resolved as execvp would, with the container's own PATH, before the barrier so a typo fails `create`.</summary>
public static class Executable
{
    const string DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    public static string Find(string name, IEnumerable<string>? env)
    {
        if (name.Contains('/'))
        {
            Check(name, name);
            return name;
        }
        var pathVar = env?.LastOrDefault(e => e.StartsWith("PATH="))?[5..] ?? DefaultPath;
        foreach (var dir in pathVar.Split(':'))
        {
            var candidate = Path.Join(dir.Length == 0 ? "." : dir, name);
            if (IsExecutableFile(candidate)) return candidate;
        }
        throw new RuntimeException($"exec: \"{name}\": executable file not found in $PATH");
    }

    static void Check(string path, string name)
    {
        if (!Files.TryStat(null, path, follow: true, out var st, out int errno))
            throw new RuntimeException($"exec: \"{name}\": {Errnos.Describe(errno)}");
        if (st.IsDirectory) throw new RuntimeException($"exec: \"{name}\": is a directory");
        if (!st.IsRegular || !Files.Access(path, 1 /* X_OK */)) throw new RuntimeException($"exec: \"{name}\": permission denied");
    }

    static bool IsExecutableFile(string path) =>
        Files.TryStat(null, path, follow: true, out var st, out _) && st.IsRegular && Files.Access(path, 1 /* X_OK */);
}
