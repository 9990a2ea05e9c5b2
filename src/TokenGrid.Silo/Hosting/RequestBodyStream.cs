using Microsoft.AspNetCore.Connections;

namespace TokenGrid.Silo.Hosting;

/// <summary>
/// The request body, with Kestrel's framing failures made what they are: bad requests. Kestrel reports most broken
/// framing as a 400 <see cref="BadHttpRequestException"/>, but a chunk size too large to parse as a plain
/// <see cref="IOException"/> ("Bad chunk size data."), which would otherwise reach the exception handler as a 500.
/// </summary>
/// <remarks>
/// A connection the client reset stays a <see cref="ConnectionResetException"/> (that client is gone, not wrong), and
/// Kestrel's own <see cref="BadHttpRequestException"/> (an <see cref="IOException"/> too) keeps its status, 413 among them.
/// </remarks>
internal sealed class RequestBodyStream(Stream inner) : Stream
{
    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count)
    {
        try
        {
            return inner.Read(buffer, offset, count);
        }
        catch (IOException e) when (e is not ConnectionResetException and not BadHttpRequestException)
        {
            throw BadRequest(e);
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        try
        {
            return await inner.ReadAsync(buffer, cancellationToken);
        }
        catch (IOException e) when (e is not ConnectionResetException and not BadHttpRequestException)
        {
            throw BadRequest(e);
        }
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    private static BadHttpRequestException BadRequest(IOException e) =>
        new($"The request body could not be read: {e.Message}", StatusCodes.Status400BadRequest, e);
}
