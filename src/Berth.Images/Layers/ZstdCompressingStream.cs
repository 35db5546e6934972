using System.Runtime.InteropServices;

namespace Berth.Images.Layers;

/// <summary>
/// zstd compression as a stream that is read, over libzstd's streaming API (linked statically,
/// as for <see cref="ZstdStream"/>): level 3, zstd's default, one frame with its checksum.
/// </summary>
public sealed unsafe partial class ZstdCompressingStream : ReadOnlyStream
{
    [StructLayout(LayoutKind.Sequential)]
    struct Buffer
    {
        public byte* Data;
        public nuint Size;
        public nuint Pos;
    }

    const int ZSTD_c_compressionLevel = 100, ZSTD_c_checksumFlag = 201;
    const int ZSTD_e_continue = 0, ZSTD_e_end = 2;

    [LibraryImport("libzstd")] private static partial nint ZSTD_createCCtx();
    [LibraryImport("libzstd")] private static partial nuint ZSTD_freeCCtx(nint cctx);
    [LibraryImport("libzstd")] private static partial nuint ZSTD_CCtx_setParameter(nint cctx, int param, int value);
    [LibraryImport("libzstd")] private static partial nuint ZSTD_compressStream2(nint cctx, Buffer* output, Buffer* input, int endOp);
    [LibraryImport("libzstd")] private static partial uint ZSTD_isError(nuint code);
    [LibraryImport("libzstd")] private static partial nint ZSTD_getErrorName(nuint code);
    [LibraryImport("libzstd")] private static partial nuint ZSTD_CStreamInSize();

    readonly Stream _input;
    readonly byte[] _in;
    nint _cctx;
    int _inPos, _inLen;
    bool _inputDone, _finished;

    public ZstdCompressingStream(Stream input, int level = 3)
    {
        _input = input;
        _in = new byte[(int)ZSTD_CStreamInSize()];
        _cctx = ZSTD_createCCtx();
        if (_cctx == 0) throw new ImageException("zstd: cannot create a compression context");
        Check(ZSTD_CCtx_setParameter(_cctx, ZSTD_c_compressionLevel, level));
        Check(ZSTD_CCtx_setParameter(_cctx, ZSTD_c_checksumFlag, 1));
    }

    static nuint Check(nuint code)
    {
        if (ZSTD_isError(code) != 0) throw new ImageException($"zstd: {Marshal.PtrToStringUTF8(ZSTD_getErrorName(code))}");
        return code;
    }

    public override int Read(Span<byte> buffer)
    {
        if (buffer.Length == 0 || _finished) return 0;
        while (true)
        {
            if (_inPos == _inLen && !_inputDone)
            {
                _inLen = _input.Read(_in, 0, _in.Length);
                _inPos = 0;
                if (_inLen == 0) _inputDone = true;
            }
            fixed (byte* inp = _in)
            fixed (byte* outp = buffer)
            {
                var input = new Buffer { Data = inp, Size = (nuint)_inLen, Pos = (nuint)_inPos };
                var output = new Buffer { Data = outp, Size = (nuint)buffer.Length, Pos = 0 };
                var left = Check(ZSTD_compressStream2(_cctx, &output, &input, _inputDone ? ZSTD_e_end : ZSTD_e_continue));
                _inPos = (int)input.Pos;
                if (_inputDone && left == 0) _finished = true;
                if (output.Pos > 0) return (int)output.Pos;
                if (_finished) return 0;
            }
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (_cctx != 0) ZSTD_freeCCtx(_cctx);
        _cctx = 0;
        if (disposing) _input.Dispose();
        base.Dispose(disposing);
    }
}
