using System.Runtime.InteropServices;

namespace Berth.Images.Layers;

/// <summary>
/// A zstd-decompressing read stream over libzstd's streaming API (linked statically into the
/// executable; no helper process, no lazy library load).
/// </summary>
public sealed unsafe partial class ZstdStream : ReadOnlyStream
{
    [StructLayout(LayoutKind.Sequential)]
    struct Buffer
    {
        public byte* Data;
        public nuint Size;
        public nuint Pos;
    }

    [LibraryImport("libzstd")] private static partial nint ZSTD_createDStream();
    [LibraryImport("libzstd")] private static partial nuint ZSTD_freeDStream(nint zds);
    [LibraryImport("libzstd")] private static partial nuint ZSTD_initDStream(nint zds);
    [LibraryImport("libzstd")] private static partial nuint ZSTD_decompressStream(nint zds, Buffer* output, Buffer* input);
    [LibraryImport("libzstd")] private static partial uint ZSTD_isError(nuint code);
    [LibraryImport("libzstd")] private static partial nint ZSTD_getErrorName(nuint code);
    [LibraryImport("libzstd")] private static partial nuint ZSTD_DStreamInSize();

    readonly Stream _inner;
    readonly byte[] _in;
    nint _zds;
    int _inPos, _inLen;
    bool _innerDone;

    public ZstdStream(Stream inner)
    {
        _inner = inner;
        _in = new byte[(int)ZSTD_DStreamInSize()];
        _zds = ZSTD_createDStream();
        if (_zds == 0) throw new ImageException("zstd: cannot create a decompression stream");
        Check(ZSTD_initDStream(_zds));
    }

    static nuint Check(nuint code)
    {
        if (ZSTD_isError(code) != 0) throw new ImageException($"zstd: {Marshal.PtrToStringUTF8(ZSTD_getErrorName(code))}");
        return code;
    }

    public override int Read(Span<byte> buffer)
    {
        if (buffer.Length == 0) return 0;
        while (true)
        {
            if (_inPos == _inLen && !_innerDone)
            {
                _inLen = _inner.Read(_in, 0, _in.Length);
                _inPos = 0;
                if (_inLen == 0) _innerDone = true;
            }
            fixed (byte* inp = _in)
            fixed (byte* outp = buffer)
            {
                var input = new Buffer { Data = inp, Size = (nuint)_inLen, Pos = (nuint)_inPos };
                var output = new Buffer { Data = outp, Size = (nuint)buffer.Length, Pos = 0 };
                Check(ZSTD_decompressStream(_zds, &output, &input));
                _inPos = (int)input.Pos;
                if (output.Pos > 0) return (int)output.Pos;
                if (_innerDone && _inPos == _inLen) return 0;
            }
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (_zds != 0) ZSTD_freeDStream(_zds);
        _zds = 0;
        if (disposing) _inner.Dispose();
        base.Dispose(disposing);
    }
}
