using Berth.Linux;

namespace Berth.Runtime.Cgroups;

/// <summary>Reading and writing one cgroup file, failures named by the config field they serve.</summary>
public static class CgroupFile
{
    public static void Write(string dir, string file, string value, string field)
    {
        try
        {
            Files.WriteFile(Path.Join(dir, file), value);
        }
        catch (LinuxException e)
        {
            throw new RuntimeException($"{field}: writing {value} to {file}: {Errnos.Describe(e.Errno)}", e);
        }
    }

    /// <summary>The file's content without its trailing newline; null when it cannot be read.</summary>
    public static string? Read(string dir, string file)
    {
        try { return FileSystem.ReadText(Path.Join(dir, file)).Trim(); }
        catch (LinuxException) { return null; }
    }
}
