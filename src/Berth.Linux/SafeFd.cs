using System.Runtime.InteropServices;
using Berth.Linux.Interop;

namespace Berth.Linux;

/// <summary>An owned file descriptor; closed exactly once.</summary>
public sealed class SafeFd : SafeHandle
{
    public SafeFd(int fd, bool ownsHandle = true) : base(-1, ownsHandle) => SetHandle(fd);

    public override bool IsInvalid => handle == -1;

    /// <summary>The descriptor number, valid while this handle is alive.</summary>
    public int Number => (int)handle;

    /// <summary>"/proc/self/fd/N": names the open file itself, whatever its path now resolves to.</summary>
    public string ProcPath => $"/proc/self/fd/{Number}";

    protected override bool ReleaseHandle() => Libc.close((int)handle) == 0;

    public override string ToString() => $"fd {Number}";
}
