import CZlib

/// Bounded gzip (or zlib) decompression: the output never grows past a limit the caller sets from what it has
/// read so far, so a small file that expands to gigabytes fails after at most the limit plus one byte.
enum Gzip {
    /// Inflates `input`. `limit` is asked, with the output so far, how many bytes the output may hold in all; it
    /// is asked again whenever the output reaches the last answer (an IDX reader answers "the header" first,
    /// then the size the header declares). A stream longer than the limit fails with exit 65 naming the limit,
    /// a damaged or truncated one with the compressed byte offset.
    static func inflate(_ input: [UInt8], path: String, limit: ([UInt8]) throws -> Int) throws -> [UInt8] {
        var stream = z_stream()
        guard inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw EtaError(.software, "zlib could not start")
        }
        defer { inflateEnd(&stream) }
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        var consumed = 0
        var ended = false
        var allowed = try limit(output)
        try input.withUnsafeBufferPointer { source in
            while !ended {
                if output.count >= allowed { allowed = max(allowed, try limit(output)) }
                // At the limit, room for one byte shows whether the stream goes on.
                let room = output.count < allowed ? min(chunk.count, allowed - output.count) : 1
                if stream.avail_in == 0 && consumed < source.count {
                    // avail_in is 32 bits: feed at most 1 GiB at a time.
                    let feed = min(source.count - consumed, 1 << 30)
                    stream.next_in = UnsafeMutablePointer(mutating: source.baseAddress! + consumed)
                    stream.avail_in = uInt(feed)
                    consumed += feed
                }
                let status = chunk.withUnsafeMutableBufferPointer { target -> Int32 in
                    stream.next_out = target.baseAddress
                    stream.avail_out = uInt(room)
                    return CZlib.inflate(&stream, Z_NO_FLUSH)
                }
                let produced = room - Int(stream.avail_out)
                output.append(contentsOf: chunk[0..<produced])
                if output.count > allowed {
                    throw EtaError(
                        .dataError,
                        "\(path): decompresses to more than \(allowed) bytes, the limit for this file (a damaged file "
                            + "or a decompression bomb)"
                    )
                }
                switch status {
                case Z_STREAM_END: ended = true
                case Z_OK: continue
                case Z_BUF_ERROR where stream.avail_in == 0 && consumed < source.count: continue
                default:
                    throw EtaError(
                        .dataError,
                        "\(path): corrupt or truncated gzip stream near compressed byte offset \(stream.total_in)")
                }
            }
        }
        return output
    }
}
