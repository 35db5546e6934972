namespace Berth.Oci.Runtime;

// config-linux.md, "Seccomp".

public sealed class Seccomp
{
    public string? DefaultAction { get; set; }
    public uint? DefaultErrnoRet { get; set; }
    public List<string>? Architectures { get; set; }
    public List<string>? Flags { get; set; }
    public string? ListenerPath { get; set; }
    public string? ListenerMetadata { get; set; }
    public List<SeccompSyscall>? Syscalls { get; set; }
}

public sealed class SeccompSyscall
{
    public List<string>? Names { get; set; }
    public string? Action { get; set; }
    public uint? ErrnoRet { get; set; }
    public List<SeccompArg>? Args { get; set; }
}

public sealed class SeccompArg
{
    public uint Index { get; set; }
    public ulong Value { get; set; }
    public ulong ValueTwo { get; set; }
    public string? Op { get; set; }
}
