using Microsoft.ML.OnnxRuntime;

namespace TokenGrid.Inference.Engine;

/// <summary>
/// Moves blocks of cache memory during a re-layout. Host memory is copied by the CPU at once; device memory
/// cannot be touched from here, so blocks are collected and handed at <see cref="Flush"/> to a
/// <see cref="BlockCopySession"/> on the cache's provider: device to device for cache rows, host zeros to
/// device for padding.
/// </summary>
internal sealed unsafe class CacheCopier(CacheMemory memory) : IDisposable
{
    private readonly List<(IntPtr From, IntPtr To, long Bytes)> _copies = [];
    private readonly List<(IntPtr To, long Bytes)> _zeros = [];
    private readonly NativeBuffer _zeroSource = new();
    private BlockCopySession? _session;

    /// <summary>Copies <paramref name="bytes"/> from <paramref name="from"/> to <paramref name="to"/>, both in cache memory.</summary>
    public void Copy(IntPtr from, IntPtr to, long bytes)
    {
        if (bytes == 0)
        {
            return;
        }

        if (memory.CopyThroughRuntime)
        {
            _copies.Add((from, to, bytes));
        }
        else
        {
            Buffer.MemoryCopy((void*)from, (void*)to, bytes, bytes);
        }
    }

    /// <summary>Zeroes <paramref name="bytes"/> at <paramref name="to"/> (masked positions must hold finite values).</summary>
    public void Zero(IntPtr to, long bytes)
    {
        if (bytes == 0)
        {
            return;
        }

        if (memory.CopyThroughRuntime)
        {
            _zeros.Add((to, bytes));
        }
        else
        {
            new Span<byte>((void*)to, checked((int)bytes)).Clear();
        }
    }

    /// <summary>Carries out the collected device copies; they are complete when it returns.</summary>
    public void Flush()
    {
        if (_copies.Count > 0)
        {
            Run(_copies.Select(c => (memory.Info, c.From, c.To, c.Bytes)));
        }

        if (_zeros.Count > 0)
        {
            var largest = _zeros.Max(z => z.Bytes);
            if (_zeroSource.Capacity < largest)
            {
                _zeroSource.EnsureCapacity(largest);
                new Span<byte>(_zeroSource.Pointer, checked((int)_zeroSource.Capacity)).Clear();
            }

            Run(_zeros.Select(z => (OrtMemoryInfo.DefaultInstance, (IntPtr)_zeroSource.Pointer, z.To, z.Bytes)));
        }

        _copies.Clear();
        _zeros.Clear();
    }

    public void Dispose()
    {
        _session?.Dispose();
        _zeroSource.Dispose();
    }

    private void Run(IEnumerable<(OrtMemoryInfo FromInfo, IntPtr From, IntPtr To, long Bytes)> blocks)
    {
        _session ??= new BlockCopySession(memory);
        _session.Copy([.. blocks]);
    }
}
