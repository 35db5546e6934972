using System.Text;
using Berth.Linux;
using Berth.Oci.Runtime;
using Berth.Runtime.Protocol;
using Berth.Runtime.Rootfs;

namespace Berth.Runtime.Init;

/// <summary>
/// process.terminal: a pty from the container's own devpts, its master sent to the console
/// socket (podman's conmon, containerd's shim, or `berth run`'s own proxy), the slave made the
/// process's stdio and controlling terminal, and — for the container's first process —
/// bound over /dev/console.
/// </summary>
public static class ConsoleSetup
{
    public static void Setup(InitConfig cfg, Process process, bool bindDevConsole, Action<string> step)
    {
        if (cfg.ConsoleSocketFd < 0) return;
        step("console");
        using var socket = new SafeFd(cfg.ConsoleSocketFd);
        var (master, slave, number) = Terminal.OpenPty("/dev/ptmx");
        using (master)
        using (slave)
        {
            if (process.ConsoleSize is { Height: { } rows, Width: { } cols })
                Terminal.SetSize(master, new WindowSize { Rows = (ushort)rows, Cols = (ushort)cols });
            if (bindDevConsole) BindDevConsole(slave);
            Sockets.SendFd(socket, Encoding.UTF8.GetBytes($"/dev/pts/{number}"), master);
            for (int fd = 0; fd <= 2; fd++) Terminal.Dup2(slave, fd);
        }
        using var stdin = new SafeFd(0, ownsHandle: false);
        Terminal.SetControlling(stdin);
    }

    /// <summary>
    /// /dev/console becomes the slave. An image that made it a symlink could point this bind
    /// mount anywhere (CVE-2025-52565): a symlink is refused, a missing file is created.
    /// </summary>
    static void BindDevConsole(SafeFd slave)
    {
        using var root = Files.Open("/", O.PATH | O.DIRECTORY);
        SafeFd target;
        try
        {
            target = Files.OpenAt2(root, "dev/console", O.PATH | O.NOFOLLOW, Resolve.InRoot | Resolve.NoSymlinks);
        }
        catch (LinuxException e) when (e.Errno == Errno.ENOENT)
        {
            InRoot.MkFile(root, "/dev/console").Dispose();
            target = Files.OpenAt2(root, "dev/console", O.PATH | O.NOFOLLOW, Resolve.InRoot | Resolve.NoSymlinks);
        }
        catch (LinuxException e) when (e.Errno == Errno.ELOOP)
        {
            throw new RuntimeException("/dev/console is a symlink in the rootfs: refusing to mount the console over it");
        }
        using (target)
        {
            var st = Files.Fstat(target);
            if (st.IsSymlink)
                throw new RuntimeException("/dev/console is a symlink in the rootfs: refusing to mount the console over it");
            if (st.IsDirectory)
                throw new RuntimeException("/dev/console is not a file or device: refusing to mount the console over it");
            Mounts.Mount(slave.ProcPath, target.ProcPath, null, MS.BIND, null, "/dev/console");
        }
    }
}
