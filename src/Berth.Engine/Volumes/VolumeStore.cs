using System.Text;
using Berth.Linux;

namespace Berth.Engine.Volumes;

/// <summary>
/// Named volumes (docker's layout): STORE/volumes/NAME/_data, made on first use. A volume is
/// seeded once from the image's content at the path it is mounted on, when it is new and empty
/// (docker's -v semantics); the ".seeded" mark says that happened.
/// </summary>
public sealed class VolumeStore
{
    public string Root { get; }

    public VolumeStore(string storeRoot) => Root = Path.Combine(storeRoot, "volumes");

    public string DataOf(string name) => Path.Combine(Root, name, "_data");

    public static void CheckName(string name)
    {
        if (name.Length == 0 || !(char.IsAsciiLetterOrDigit(name[0])) || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-'))
            throw new EngineException($"volume name \"{name}\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
    }

    public bool Exists(string name) => Directory.Exists(DataOf(name));

    /// <summary>Makes the volume if it is not there; true when made now.</summary>
    public bool Create(string name)
    {
        CheckName(name);
        if (Exists(name)) return false;
        FileSystem.CreateDirectory(Root, 0x1c0);
        var tmp = Path.Combine(Root, $".tmp-{name}-{Processes.Self}");
        if (Directory.Exists(tmp)) FileTree.Remove(tmp);
        FileSystem.CreateDirectory(tmp, 0x1c0);
        FileSystem.CreateDirectory(Path.Combine(tmp, "_data"), 0x1ed);
        try { Files.RenameNoReplace(tmp, Path.Combine(Root, name)); }
        catch (LinuxException e) when (e.Errno is Errno.EEXIST or Errno.ENOTEMPTY)
        {
            FileTree.Remove(tmp);
            return false;
        }
        return true;
    }

    public List<string> List() => Directory.Exists(Root) ? FileSystem.Directories(Root).Where(n => !n.StartsWith('.')).ToList() : new();

    public void Remove(string name)
    {
        if (!Exists(name)) throw new EngineException($"no such volume: {name}");
        FileTree.Remove(Path.Combine(Root, name));
    }

    /// <summary>Copies the image's <paramref name="source"/> directory into a new, empty volume, once (cp -a keeps owners, modes, links).</summary>
    public void Seed(string name, string source)
    {
        var mark = Path.Combine(Root, name, ".seeded");
        if (File.Exists(mark)) return;
        var data = DataOf(name);
        if (Directory.Exists(source) && FileSystem.Names(data).Count == 0)
        {
            var pid = Processes.Spawn("/bin/cp", new[] { "cp", "-a", "--", source + "/.", data + "/" }, Processes.Environment(), Array.Empty<ChildFd>());
            var status = Processes.Wait(pid)!.Value.Status;
            if (status.ShellCode != 0) throw new EngineException($"volume {name}: seeding from the image's {source} failed (cp exit {status.ShellCode})");
        }
        FileSystem.WriteNew(mark, Encoding.UTF8.GetBytes(source + "\n"));
    }
}
