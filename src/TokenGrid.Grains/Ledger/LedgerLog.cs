using System.Text;
using TokenGrid.Abstractions.Billing;
using TokenGrid.Abstractions.Tenants;

namespace TokenGrid.Grains.Ledger;

/// <summary>
/// One tenant's ledger lines kept as bytes in large append-only chunks, for the process-local
/// <see cref="InMemoryLedgerStore"/>. The ledger is never deleted, so the local profile keeps every line for the life
/// of the process, and as objects the lines cost both memory (an unpriced line about 150 bytes, a priced one about 450
/// with its charge) and garbage-collection work (every line a live object graph the collector traces and, once,
/// copies). Here a line takes 50–110 bytes inside chunks of <see cref="ChunkSize"/> bytes, which are allocated on the
/// large object heap and hold no references, so the collector never copies or traces what the ledger keeps.
/// </summary>
/// <remarks>
/// The encoding is private to this process (lost on restart like the rest of the local profile, never read by another
/// version), so it is a fixed field order written with <see cref="BinaryWriter"/>'s 7-bit integers rather than a
/// versioned serializer format: numbers are zig-zag varints, and the strings that repeat from line to line (tenant,
/// model, currency, program, node, silo, regions) are numbered in a per-tenant table. Not thread-safe: the store locks.
/// </remarks>
internal sealed class LedgerLog
{
    /// <summary>Bytes per chunk: above the large object heap's threshold (85,000), so a chunk is never copied.</summary>
    public const int ChunkSize = 128 * 1024;

    private readonly List<byte[]> _chunks = [];
    private readonly List<long> _starts = [];
    private readonly List<string> _strings = [];
    private readonly Dictionary<string, int> _stringIds = new(StringComparer.Ordinal);
    private readonly MemoryStream _scratch = new();
    private readonly BinaryWriter _writer;
    private int _used = ChunkSize;

    public LedgerLog() => _writer = new BinaryWriter(_scratch, Encoding.UTF8, leaveOpen: true);

    /// <summary>Lines kept.</summary>
    public int Count => _starts.Count;

    /// <summary>The sequence of the newest line, 0 when there is none.</summary>
    public long LastSequence { get; private set; }

    /// <summary>Keeps <paramref name="entry"/> as the next line.</summary>
    public void Add(LedgerEntry entry)
    {
        _scratch.SetLength(0);
        Write(entry);
        var length = (int)_scratch.Length;
        if (_used + length > ChunkSize || _chunks.Count == 0)
        {
            _chunks.Add(new byte[Math.Max(ChunkSize, length)]);
            _used = 0;
        }

        _scratch.GetBuffer().AsSpan(0, length).CopyTo(_chunks[^1].AsSpan(_used));
        _starts.Add(((long)(_chunks.Count - 1) << 32) | (uint)_used);
        _used += length;
        LastSequence = entry.Sequence;
    }

    /// <summary>The line at <paramref name="index"/> (0 is the oldest).</summary>
    public LedgerEntry this[int index] => Range(index, 1)[0];

    /// <summary>The lines from <paramref name="index"/> on, at most <paramref name="count"/>, read with one reader per chunk.</summary>
    public List<LedgerEntry> Range(int index, int count)
    {
        var lines = new List<LedgerEntry>(count);
        BinaryReader? reader = null;
        var readerChunk = -1;
        try
        {
            for (var i = index; i < index + count; i++)
            {
                var start = _starts[i];
                var chunk = (int)(start >> 32);
                if (chunk != readerChunk)
                {
                    reader?.Dispose();
                    reader = new BinaryReader(new MemoryStream(_chunks[chunk], writable: false), Encoding.UTF8);
                    readerChunk = chunk;
                }

                reader!.BaseStream.Position = (uint)start;
                lines.Add(Read(reader));
            }
        }
        finally
        {
            reader?.Dispose();
        }

        return lines;
    }

    /// <summary>
    /// Whether the line at <paramref name="index"/> is of the job whose id is <paramref name="jobIdUtf8"/> in UTF-8:
    /// compared in place (a line starts with its job id), without reading the line.
    /// </summary>
    public bool IsOfJob(int index, ReadOnlySpan<byte> jobIdUtf8)
    {
        var start = _starts[index];
        var bytes = _chunks[(int)(start >> 32)].AsSpan((int)(uint)start);
        int length = 0, shift = 0, i = 0;
        byte b;
        do
        {
            b = bytes[i++];
            length |= (b & 0x7F) << shift;
            shift += 7;
        }
        while ((b & 0x80) != 0);

        return bytes.Slice(i, length).SequenceEqual(jobIdUtf8);
    }

    private void Write(LedgerEntry e)
    {
        var w = _writer;
        w.Write(e.JobId);
        w.Write7BitEncodedInt64(e.Sequence);
        w.Write(e.At.UtcTicks);
        w.Write((short)e.At.Offset.TotalMinutes);
        WriteString(e.TenantId);
        WriteString(e.Model);
        w.Write((byte)e.Kind);
        foreach (var number in (ReadOnlySpan<long>)[e.Tokens, e.Quota, e.ChargedAfter, e.ReservedAfter, e.BalanceAfter, e.PromptTokens,
                     e.CompletionTokens, e.SpendMicros, e.SpendChargedAfter, e.SpendReservedAfter, e.CachedPromptTokens])
        {
            WriteNumber(number);
        }

        w.Write(e.Priced is not null);
        if (e.Priced is { } priced)
        {
            WriteNumber(priced.PriceVersion);
            WriteString(priced.Currency);
            WriteString(priced.ProgramId);
            w.Write(priced.Place is not null);
            if (priced.Place is { } place)
            {
                WriteString(place.NodeId);
                WriteString(place.Silo);
                WriteString(place.Region);
            }

            WriteString(priced.HomeRegion);
            var lines = priced.Lines;
            w.Write7BitEncodedInt(lines.Count);
            for (var i = 0; i < lines.Count; i++)
            {
                // By index: an interface's enumerator is an allocation per priced line written.
                var line = lines[i];
                w.Write((byte)line.Direction);
                foreach (var number in (ReadOnlySpan<long>)[line.Tokens, line.UnitPrice.Micros, line.List.Micros, line.Discount.Micros, line.Subsidy.Micros, line.Tenant.Micros])
                {
                    WriteNumber(number);
                }
            }
        }
    }

    private LedgerEntry Read(BinaryReader r)
    {
        var jobId = r.ReadString();
        var sequence = r.Read7BitEncodedInt64();
        var utcTicks = r.ReadInt64();
        var offset = TimeSpan.FromMinutes(r.ReadInt16());
        var at = new DateTimeOffset(utcTicks + offset.Ticks, offset);
        var tenantId = ReadString(r)!;
        var model = ReadString(r)!;
        var kind = (LedgerEntryKind)r.ReadByte();
        Span<long> n = stackalloc long[11];
        for (var i = 0; i < n.Length; i++)
        {
            n[i] = ReadNumber(r);
        }

        PricedCharge? priced = null;
        if (r.ReadBoolean())
        {
            var version = (int)ReadNumber(r);
            var currency = ReadString(r)!;
            var programId = ReadString(r);
            var place = r.ReadBoolean() ? new CreationPlace(ReadString(r)!, ReadString(r)!, ReadString(r)) : null;
            var homeRegion = ReadString(r);
            var lines = new PricedLine[r.Read7BitEncodedInt()];
            for (var i = 0; i < lines.Length; i++)
            {
                lines[i] = new PricedLine((TokenDirection)r.ReadByte(), ReadNumber(r), new Money(ReadNumber(r)), new Money(ReadNumber(r)),
                    new Money(ReadNumber(r)), new Money(ReadNumber(r)), new Money(ReadNumber(r)));
            }

            priced = new PricedCharge(version, currency, programId, place, homeRegion, lines);
        }

        return new LedgerEntry(sequence, at, tenantId, jobId, model, kind, n[0], n[1], n[2], n[3], n[4], n[5], n[6], n[7], n[8], n[9], priced, n[10]);
    }

    /// <summary>A zig-zag varint: small magnitudes of either sign take few bytes.</summary>
    private void WriteNumber(long value) => _writer.Write7BitEncodedInt64((value << 1) ^ (value >> 63));

    private static long ReadNumber(BinaryReader r)
    {
        var zigzag = r.Read7BitEncodedInt64();
        return (long)((ulong)zigzag >> 1) ^ -(zigzag & 1);
    }

    /// <summary>A repeating string as its number in the tenant's table (0 for null).</summary>
    private void WriteString(string? value)
    {
        if (value is null)
        {
            _writer.Write7BitEncodedInt(0);
            return;
        }

        if (!_stringIds.TryGetValue(value, out var id))
        {
            _strings.Add(value);
            _stringIds.Add(value, id = _strings.Count);
        }

        _writer.Write7BitEncodedInt(id);
    }

    private string? ReadString(BinaryReader r) => r.Read7BitEncodedInt() is var id and > 0 ? _strings[id - 1] : null;
}
