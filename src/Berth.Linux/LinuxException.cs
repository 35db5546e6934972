namespace Berth.Linux;

/// <summary>A failed system call: the errno, what was being done, and on which path.</summary>
public sealed class LinuxException : Exception
{
    public int Errno { get; }
    public string Operation { get; }
    public string? Path { get; }

    /// <summary>What was wrong, when it is more than the errno ("is a FIFO, not a regular file").</summary>
    public string? Detail { get; }

    public LinuxException(int errno, string operation, string? path = null)
        : base(Format(errno, operation, path))
    {
        Errno = errno;
        Operation = operation;
        Path = path;
    }

    /// <summary>A failure that is not the kernel's errno alone: <paramref name="detail"/> says what was wrong ("is a FIFO, not a regular file").</summary>
    public LinuxException(int errno, string operation, string? path, string detail)
        : base(path is null ? $"{operation}: {detail}" : $"{operation} {path}: {detail}")
    {
        Errno = errno;
        Operation = operation;
        Path = path;
        Detail = detail;
    }

    static string Format(int errno, string operation, string? path) =>
        path is null
            ? $"{operation}: {Errnos.Describe(errno)}"
            : $"{operation} {path}: {Errnos.Describe(errno)}";

    /// <summary>Throws with the calling thread's errno when <paramref name="result"/> is negative.</summary>
    public static int ThrowIfError(int result, string operation, string? path = null)
    {
        if (result < 0) throw FromLastError(operation, path);
        return result;
    }

    public static long ThrowIfError(long result, string operation, string? path = null)
    {
        if (result < 0) throw FromLastError(operation, path);
        return result;
    }

    public static LinuxException FromLastError(string operation, string? path = null) =>
        new(System.Runtime.InteropServices.Marshal.GetLastPInvokeError(), operation, path);
}
