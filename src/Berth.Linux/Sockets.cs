using System.Runtime.InteropServices;
using Berth.Linux.Interop;

namespace Berth.Linux;

/// <summary>Unix socket pairs and the little network setup init needs.</summary>
public static unsafe class Sockets
{
    const int AF_UNIX = 1, AF_INET = 2, SOCK_DGRAM = 2, SOCK_CLOEXEC = O.CLOEXEC;
    public const int SOCK_STREAM = 1;

    public static (SafeFd, SafeFd) UnixStreamPair()
    {
        int* sv = stackalloc int[2];
        LinuxException.ThrowIfError(Libc.socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), "socketpair");
        return (new SafeFd(sv[0]), new SafeFd(sv[1]));
    }

    [StructLayout(LayoutKind.Sequential)]
    struct IoVec
    {
        public byte* Base;
        public nuint Len;
    }

    [StructLayout(LayoutKind.Sequential)]
    struct MsgHdr
    {
        public void* Name;
        public uint NameLen;
        public IoVec* Iov;
        public nuint IovLen;
        public void* Control;
        public nuint ControlLen;
        public int Flags;
    }

    /// <summary>Receives one descriptor sent with SCM_RIGHTS (and discards the data that came with it).</summary>
    public static SafeFd ReceiveFd(SafeFd socket)
    {
        const int SOL_SOCKET = 1, SCM_RIGHTS = 1;
        byte* data = stackalloc byte[4096];
        ulong* control = stackalloc ulong[3];
        var iov = new IoVec { Base = data, Len = 4096 };
        var msg = new MsgHdr { Iov = &iov, IovLen = 1, Control = control, ControlLen = 24 };
        nint n;
        do n = Libc.recvmsg(socket.Number, &msg, 0x40000000 /* MSG_CMSG_CLOEXEC */);
        while (n < 0 && Marshal.GetLastPInvokeError() == Errno.EINTR);
        if (n < 0) throw LinuxException.FromLastError("recvmsg");
        if (msg.ControlLen < 20 || ((int*)control)[2] != SOL_SOCKET || ((int*)control)[3] != SCM_RIGHTS)
            throw new LinuxException(Errno.EIO, "recvmsg", "no descriptor in the message");
        return new SafeFd(((int*)control)[4]);
    }

    public const int SOCK_SEQPACKET = 5;

    /// <summary>A stream socket (or <paramref name="type"/>: SOCK_SEQPACKET, conmon's attach socket) connected to the Unix socket at <paramref name="path"/>.</summary>
    public static SafeFd ConnectUnix(string path, int type = SOCK_STREAM)
    {
        var fd = new SafeFd(LinuxException.ThrowIfError(Libc.socket(AF_UNIX, type | SOCK_CLOEXEC, 0), "socket"));
        var bytes = System.Text.Encoding.UTF8.GetBytes(path);
        if (bytes.Length >= 108)
        {
            fd.Dispose();
            throw new LinuxException(Errno.ENAMETOOLONG, "connect", path);
        }
        byte* addr = stackalloc byte[110];
        new Span<byte>(addr, 110).Clear();
        *(ushort*)addr = AF_UNIX;
        bytes.CopyTo(new Span<byte>(addr + 2, 108));
        int rc;
        // A blocking connect (a listener's backlog full) that a signal interrupts: the socket is
        // still unconnected, so it is simply tried again.
        do rc = Libc.connect(fd.Number, addr, (uint)(2 + bytes.Length + 1));
        while (rc < 0 && Marshal.GetLastPInvokeError() == Errno.EINTR);
        if (rc < 0)
        {
            var e = LinuxException.FromLastError("connect", path);
            fd.Dispose();
            throw e;
        }
        return fd;
    }

    /// <summary>shutdown(2) of one direction (or both); a socket already disconnected is not an error.</summary>
    public static void Shutdown(SafeFd socket, bool write = true, bool read = false)
    {
        int how = write && read ? 2 : write ? 1 : 0;
        if (Libc.shutdown(socket.Number, how) < 0 && Marshal.GetLastPInvokeError() is not (107 /* ENOTCONN */ or Errno.EBADF))
            throw LinuxException.FromLastError("shutdown");
    }
}
