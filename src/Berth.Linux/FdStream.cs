using System.Runtime.InteropServices;
using Berth.Linux.Interop;

namespace Berth.Linux;

/// <summary>
/// A Stream over a descriptor it owns, in place of FileStream: a failed read or write is a
/// <see cref="LinuxException"/> naming <see cref="What"/> (the path, or what the file is), not an
/// IOException naming nothing. Unbuffered: wrap it in a BufferedStream for small reads.
/// </summary>
public sealed unsafe class FdStream : Stream
{
    const int SEEK_SET = 0, SEEK_CUR = 1, SEEK_END = 2;
    readonly SafeFd _fd;
    readonly bool _read, _write;

    /// <summary>The file's name in errors.</summary>
    public string What { get; }

    public FdStream(SafeFd fd, string what, bool read = true, bool write = false)
    {
        _fd = fd;
        What = what;
        _read = read;
        _write = write;
    }

    public override bool CanRead => _read;
    public override bool CanWrite => _write;
    public override bool CanSeek => true;

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (!_read) throw new NotSupportedException();
        while (true)
        {
            nint n;
            fixed (byte* p = buffer) n = Libc.read(_fd.Number, p, buffer.Length);
            if (n >= 0) return (int)n;
            if (Marshal.GetLastPInvokeError() != Errno.EINTR) throw LinuxException.FromLastError("read", What);
        }
    }

    /// <summary>pread(2): reads at <paramref name="offset"/> without moving the position, so readers of different parts can share the descriptor.</summary>
    public int ReadAt(Span<byte> buffer, long offset)
    {
        while (true)
        {
            nint n;
            fixed (byte* p = buffer) n = Libc.pread(_fd.Number, p, buffer.Length, offset);
            if (n >= 0) return (int)n;
            if (Marshal.GetLastPInvokeError() != Errno.EINTR) throw LinuxException.FromLastError("read", What);
        }
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        if (!_write) throw new NotSupportedException();
        Files.WriteAll(_fd, buffer, What);
    }

    public override long Seek(long offset, SeekOrigin origin)
    {
        int whence = origin switch { SeekOrigin.Begin => SEEK_SET, SeekOrigin.Current => SEEK_CUR, _ => SEEK_END };
        return LinuxException.ThrowIfError(Libc.lseek(_fd.Number, offset, whence), "lseek", What);
    }

    public override long Length => (long)Files.Fstat(_fd).Size;

    public override long Position
    {
        get => Seek(0, SeekOrigin.Current);
        set => Seek(value, SeekOrigin.Begin);
    }

    public override void SetLength(long value) => LinuxException.ThrowIfError(Libc.ftruncate(_fd.Number, value), "ftruncate", What);

    /// <summary>Nothing is buffered here.</summary>
    public override void Flush() { }

    /// <summary>fsync(2): the data is on disk before, say, a rename makes it visible.</summary>
    public void Sync() => LinuxException.ThrowIfError(Libc.fsync(_fd.Number), "fsync", What);

    protected override void Dispose(bool disposing)
    {
        if (disposing) _fd.Dispose();
        base.Dispose(disposing);
    }
}
