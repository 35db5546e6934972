using System.Runtime.InteropServices;
using System.Text;
using Berth.Linux.Interop;

namespace Berth.Linux;

/// <summary>
/// overlayfs mounts through the new mount API: fsopen("overlay"), then one fsconfig
/// "lowerdir+" a layer (Linux 6.8; by descriptor from 6.13, so no path is looked up twice and
/// none is bound by fsconfig's 255-byte strings), then fsmount. mount(2) takes its options in
/// one page, which about 38 snapshot paths fill; that stays the fallback for older kernels.
/// </summary>
public static unsafe class OverlayMount
{
    /// <summary>overlayfs' OVL_MAX_STACK: lower layers one mount can stack.</summary>
    public const int MaxLayers = 500;

    const long SysMoveMount = 429, SysFsopen = 430, SysFsconfig = 431, SysFsmount = 432;
    const uint FSOPEN_CLOEXEC = 1, FSMOUNT_CLOEXEC = 1, MOVE_MOUNT_F_EMPTY_PATH = 4;
    const uint FSCONFIG_SET_STRING = 1, FSCONFIG_SET_FD = 5, FSCONFIG_CMD_CREATE = 6;
    /// <summary>fsconfig copies a string value of at most 255 bytes (strndup_user(value, 256)).</summary>
    const int MaxConfigString = 255;

    /// <summary>Mounts an overlay at <paramref name="target"/>: <paramref name="lowers"/> topmost first, writes going to <paramref name="upper"/>.</summary>
    public static void Mount(string target, IReadOnlyList<string> lowers, string upper, string work)
    {
        if (lowers.Count > MaxLayers) throw new LinuxException(Errno.EINVAL, $"overlay of {lowers.Count} layers (overlayfs stacks at most {MaxLayers})", target);
        using var mount = Create(lowers, upper, work);
        if (mount is null)
        {
            MountLegacy(target, lowers, upper, work);
            return;
        }
        var empty = Files.Utf8z("");
        var to = Files.Utf8z(target);
        fixed (byte* e = empty, t = to)
            LinuxException.ThrowIfError(Libc.syscall(SysMoveMount, mount.Number, (long)e, At.FDCWD, (long)t, MOVE_MOUNT_F_EMPTY_PATH, 0), "move_mount", target);
    }

    /// <summary>
    /// A read-only overlay of <paramref name="lowers"/> (at least two), attached nowhere: the
    /// descriptor of its root is the only way in, and closing it unmounts it.
    /// </summary>
    public static SafeFd Detached(IReadOnlyList<string> lowers)
    {
        if (lowers.Count > MaxLayers) throw new LinuxException(Errno.EINVAL, $"overlay of {lowers.Count} layers (overlayfs stacks at most {MaxLayers})");
        return Create(lowers, null, null)
            ?? throw new LinuxException(Errno.ENOSYS, "fsconfig lowerdir+ (a detached overlay needs Linux 6.8)");
    }

    /// <summary>mount(2) with the options in one string: kernels before 6.8, as long as the options fit a page.</summary>
    public static void MountLegacy(string target, IReadOnlyList<string> lowers, string upper, string work)
    {
        foreach (var p in lowers.Append(upper).Append(work))
            if (p.Contains(':') || p.Contains(','))
                throw new LinuxException(Errno.EINVAL, "mount overlay (a layer path holds ':' or ',', which mount options cannot carry)", p);
        var data = $"lowerdir={string.Join(':', lowers)},upperdir={upper},workdir={work}";
        int bytes = Encoding.UTF8.GetByteCount(data) + 1;
        if (bytes > Environment.SystemPageSize)
            throw new LinuxException(Errno.E2BIG, $"mount overlay ({lowers.Count} layers take {bytes} bytes of options, more than a page; Linux 6.8 mounts any number with fsconfig lowerdir+)", target);
        Mounts.Mount("overlay", target, "overlay", 0, data, target);
    }

    /// <summary>The mount as a detached mount descriptor; null when this kernel has no fsopen or no lowerdir+.</summary>
    static SafeFd? Create(IReadOnlyList<string> lowers, string? upper, string? work)
    {
        var type = Files.Utf8z("overlay");
        long fs;
        fixed (byte* t = type) fs = Libc.syscall(SysFsopen, (long)t, FSOPEN_CLOEXEC, 0, 0, 0, 0);
        if (fs < 0)
        {
            if (Marshal.GetLastPInvokeError() == Errno.ENOSYS) return null;
            throw LinuxException.FromLastError("fsopen overlay");
        }
        using var context = new SafeFd((int)fs);
        bool? byFd = null;
        for (int i = 0; i < lowers.Count; i++)
            if (!Set(context, "lowerdir+", lowers[i], ref byFd, first: i == 0)) return null;
        if (upper is not null)
        {
            Set(context, "upperdir", upper, ref byFd, first: false);
            Set(context, "workdir", work!, ref byFd, first: false);
        }
        if (Libc.syscall(SysFsconfig, context.Number, FSCONFIG_CMD_CREATE, 0, 0, 0, 0) < 0) throw Failure(context, "fsconfig create overlay", null);
        long mount = Libc.syscall(SysFsmount, context.Number, FSMOUNT_CLOEXEC, 0, 0, 0, 0);
        if (mount < 0) throw Failure(context, "fsmount overlay", null);
        return new SafeFd((int)mount);
    }

    /// <summary>
    /// One layer or directory: by descriptor where the kernel takes one (6.13), else by path.
    /// False when the kernel does not know "lowerdir+" at all (before 6.8).
    /// </summary>
    static bool Set(SafeFd context, string key, string path, ref bool? byFd, bool first)
    {
        var k = Files.Utf8z(key);
        if (byFd != false)
        {
            using var dir = Files.Open(path, O.PATH | O.DIRECTORY);
            long r;
            fixed (byte* kp = k) r = Libc.syscall(SysFsconfig, context.Number, FSCONFIG_SET_FD, (long)kp, 0, dir.Number, 0);
            if (r == 0)
            {
                byFd = true;
                return true;
            }
            if (byFd == true || Marshal.GetLastPInvokeError() != Errno.EINVAL) throw Failure(context, $"fsconfig {key}", path);
            Drain(context);
            byFd = false;
        }
        var v = Files.Utf8z(path);
        if (v.Length - 1 > MaxConfigString) throw new LinuxException(Errno.ENAMETOOLONG, $"fsconfig {key} (a path of more than {MaxConfigString} bytes needs Linux 6.13)", path);
        long s;
        fixed (byte* kp = k, vp = v) s = Libc.syscall(SysFsconfig, context.Number, FSCONFIG_SET_STRING, (long)kp, (long)vp, 0, 0);
        if (s == 0) return true;
        if (first && Marshal.GetLastPInvokeError() == Errno.EINVAL) return false;
        throw Failure(context, $"fsconfig {key}", path);
    }

    /// <summary>The errno, with what overlayfs wrote to the context's log ("too many lower directories, limit is 500").</summary>
    static LinuxException Failure(SafeFd context, string operation, string? path)
    {
        int errno = Marshal.GetLastPInvokeError();
        var log = Drain(context);
        return new LinuxException(errno, log.Length == 0 ? operation : $"{operation} ({log})", path);
    }

    static string Drain(SafeFd context)
    {
        var messages = new List<string>();
        var buffer = new byte[1024];
        while (messages.Count < 8)
        {
            nint n;
            fixed (byte* b = buffer) n = Libc.read(context.Number, b, buffer.Length);
            if (n <= 0) break;
            var line = Encoding.UTF8.GetString(buffer, 0, (int)n);
            // "e overlayfs: ...": a severity letter, then the message.
            messages.Add(line.Length > 2 && line[1] == ' ' ? line[2..] : line);
        }
        return string.Join("; ", messages);
    }
}
