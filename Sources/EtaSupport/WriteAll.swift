import Foundation

/// Writes all of `bytes` to `descriptor`, retrying short writes and EINTR; returns the errno of a failure, nil on
/// success. The one write loop behind standard output, logs, atomic files and stderr notes.
///
/// - Parameters:
///   - descriptor: An open file descriptor.
///   - bytes: The bytes to write, all of them.
/// - Returns: The errno of the failed `write` (`EIO` for a write of zero bytes), nil when every byte was written.
public func writeAll(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer) -> Int32? {
    var offset = 0
    while offset < bytes.count {
        let written = write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
        if written < 0 {
            if errno == EINTR { continue }
            return errno
        }
        if written == 0 { return EIO }
        offset += written
    }
    return nil
}
