using System.Buffers.Binary;
using System.Text;
using Berth.Linux;

namespace Berth.Runtime.Protocol;

/// <summary>
/// Message types on the sync socket between launcher, nsenter stage and init. Numbers 1–6,
/// 11 and 12 are shared with native/nsenter.c.
/// </summary>
public enum SyncType : uint
{
    UsermapRequest = 1, // nsenter → launcher: pid whose uid/gid maps to write
    UsermapDone = 2,
    CgroupRequest = 3,  // nsenter → launcher: pid whose namespaces exist; place it in the cgroups it did not join
    CgroupDone = 4,
    ChildPid = 5,       // nsenter → launcher: pid of the container's init (launcher's pid namespace)
    Error = 6,          // any stage → launcher: what failed, as text
    InitConfig = 7,     // launcher → init: InitConfig JSON
    Ready = 8,          // init → launcher: every fallible step is done; waiting at the exec barrier
    RuntimeHooks = 9,   // init → launcher: mounts are done, run prestart and createRuntime hooks now
    RuntimeHooksDone = 10,
    PlaceRequest = 11,  // nsenter → launcher: pid about to join the cgroups itself, once they exist
    PlaceGo = 12,
}

public readonly record struct SyncMessage(SyncType Type, byte[] Payload)
{
    public int Pid => BinaryPrimitives.ReadInt32LittleEndian(Payload);
    public string Text => Encoding.UTF8.GetString(Payload);
}

/// <summary>One end of the sync socketpair: frames are {u32 type, u32 length, payload}.</summary>
public sealed class SyncSocket : IDisposable
{
    const int MaxPayload = 16 << 20;
    readonly SafeFd _fd;

    public SyncSocket(SafeFd fd) => _fd = fd;

    public SafeFd Fd => _fd;

    public void Send(SyncType type, ReadOnlySpan<byte> payload = default)
    {
        var frame = new byte[8 + payload.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(frame, (uint)type);
        BinaryPrimitives.WriteUInt32LittleEndian(frame.AsSpan(4), (uint)payload.Length);
        payload.CopyTo(frame.AsSpan(8));
        Files.WriteAll(_fd, frame, "sync socket");
    }

    public void SendText(SyncType type, string text) => Send(type, Encoding.UTF8.GetBytes(text));

    /// <summary>The next message, or null when the other side closed its end.</summary>
    public SyncMessage? Receive()
    {
        Span<byte> header = stackalloc byte[8];
        if (!ReadExactly(header, allowEof: true)) return null;
        var type = (SyncType)BinaryPrimitives.ReadUInt32LittleEndian(header);
        var len = BinaryPrimitives.ReadUInt32LittleEndian(header[4..]);
        if (len > MaxPayload) throw new RuntimeException($"sync socket: message {type} of {len} bytes is too large");
        var payload = new byte[len];
        if (len > 0 && !ReadExactly(payload, allowEof: false)) return null;
        return new SyncMessage(type, payload);
    }

    bool ReadExactly(Span<byte> buffer, bool allowEof)
    {
        int got = 0;
        while (got < buffer.Length)
        {
            int n = Files.Read(_fd, buffer[got..]);
            if (n == 0)
            {
                if (got == 0 && allowEof) return false;
                throw new RuntimeException("sync socket: connection closed in the middle of a message");
            }
            got += n;
        }
        return true;
    }

    public void Dispose() => _fd.Dispose();
}
