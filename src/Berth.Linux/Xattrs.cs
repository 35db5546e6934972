using System.Runtime.InteropServices;
using Berth.Linux.Interop;

namespace Berth.Linux;

/// <summary>Extended attributes by raw name: image names and values are bytes, not text.</summary>
public static unsafe class Xattrs
{
    /// <summary>fsetxattr(2) with the name's bytes as given; a NUL inside would make the kernel set a shorter name, so it is refused.</summary>
    public static void Set(SafeFd fd, ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        var z = NameZ(name);
        fixed (byte* n = z, v = value)
            if (Libc.fsetxattr(fd.Number, n, v, value.Length, 0) < 0) throw LinuxException.FromLastError("fsetxattr", Describe(name));
    }

    /// <summary>fgetxattr(2); null when the file has no such attribute.</summary>
    public static byte[]? Get(SafeFd fd, ReadOnlySpan<byte> name)
    {
        var z = NameZ(name);
        fixed (byte* n = z)
        {
            while (true)
            {
                nint size = Libc.fgetxattr(fd.Number, n, null, 0);
                if (size < 0) return Marshal.GetLastPInvokeError() == Errno.ENODATA ? null : throw LinuxException.FromLastError("fgetxattr", Describe(name));
                var value = new byte[size];
                fixed (byte* v = value)
                {
                    nint got = Libc.fgetxattr(fd.Number, n, v, size);
                    if (got >= 0) return value[..(int)got];
                    // ERANGE: it grew between the two calls.
                    if (Marshal.GetLastPInvokeError() != Errno.ERANGE) throw LinuxException.FromLastError("fgetxattr", Describe(name));
                }
            }
        }
    }

    /// <summary>flistxattr(2): every name the file has (that the caller may see).</summary>
    public static List<byte[]> List(SafeFd fd)
    {
        while (true)
        {
            nint size = Libc.flistxattr(fd.Number, null, 0);
            if (size < 0) throw LinuxException.FromLastError("flistxattr", fd.ToString());
            var buffer = new byte[size];
            nint got;
            fixed (byte* b = buffer) got = Libc.flistxattr(fd.Number, b, size);
            if (got < 0)
            {
                if (Marshal.GetLastPInvokeError() == Errno.ERANGE) continue;
                throw LinuxException.FromLastError("flistxattr", fd.ToString());
            }
            // NUL-terminated names, one after the other.
            var names = new List<byte[]>();
            for (int start = 0, i = 0; i < got; i++)
                if (buffer[i] == 0)
                {
                    if (i > start) names.Add(buffer[start..i]);
                    start = i + 1;
                }
            return names;
        }
    }

    static byte[] NameZ(ReadOnlySpan<byte> name)
    {
        if (name.IndexOf((byte)0) >= 0 || name.Length == 0) throw new LinuxException(Errno.EINVAL, "xattr", Describe(name));
        var z = new byte[name.Length + 1];
        name.CopyTo(z);
        return z;
    }

    static string Describe(ReadOnlySpan<byte> name) => System.Text.Encoding.UTF8.GetString(name);
}
