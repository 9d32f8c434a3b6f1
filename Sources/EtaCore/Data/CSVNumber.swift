import Foundation

/// Decimal text to `Float`, correctly rounded, without allocating.
///
/// The fast path reads up to 19 significant digits into an integer and scales it by an exact power of ten in
/// `Double` (Clinger's fast path: one correctly rounded operation). Narrowing that `Double` to `Float` is
/// correct unless it lands exactly on a midpoint between two floats, so those, long mantissas, large
/// exponents, subnormals and anything unusual (`inf`, hex) go to `strtof`, which rounds correctly.
enum CSVNumber {
    /// 10^0 ... 10^22: every one is exact in a `Double`.
    private static let powersOfTen: [Double] = (0...22).map { exponent in
        (0..<exponent).reduce(1.0) { value, _ in value * 10 }
    }

    /// The number `start..<end` spells, or nil when it is not one number (empty, trailing text, ...).
    /// Non-finite results (`inf`, `nan`, overflow) are returned as they are; callers reject them.
    @inline(__always)
    static func parse(_ start: UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>) -> Float? {
        var cursor = start
        guard cursor < end else { return nil }
        let negative = cursor.pointee == UInt8(ascii: "-")
        if negative || cursor.pointee == UInt8(ascii: "+") { cursor += 1 }
        var mantissa: UInt64 = 0
        var significantDigits = 0
        var exponent = 0
        var sawDigit = false
        var exact = true
        // One digit into the mantissa: the first 19 significant ones exactly, later ones only mark it inexact.
        func take(_ character: UInt8) {
            let digit = UInt64(character &- UInt8(ascii: "0"))
            sawDigit = true
            guard mantissa != 0 || digit != 0 else { return }
            if significantDigits < 19 {
                mantissa = mantissa &* 10 &+ digit
                significantDigits += 1
            } else {
                exact = false
            }
        }
        while cursor < end, cursor.pointee &- UInt8(ascii: "0") < 10 {
            take(cursor.pointee)
            cursor += 1
        }
        if cursor < end, cursor.pointee == UInt8(ascii: ".") {
            cursor += 1
            while cursor < end, cursor.pointee &- UInt8(ascii: "0") < 10 {
                take(cursor.pointee)
                if exact { exponent -= 1 }
                cursor += 1
            }
        }
        if sawDigit, cursor < end, cursor.pointee | 0x20 == UInt8(ascii: "e") {
            cursor += 1
            var exponentNegative = false
            if cursor < end, cursor.pointee == UInt8(ascii: "-") || cursor.pointee == UInt8(ascii: "+") {
                exponentNegative = cursor.pointee == UInt8(ascii: "-")
                cursor += 1
            }
            var written = 0
            var sawExponentDigit = false
            while cursor < end, cursor.pointee &- UInt8(ascii: "0") < 10 {
                // Capped so a long exponent cannot overflow; such values go to strtof below.
                if written < 100_000 { written = written * 10 + Int(cursor.pointee &- UInt8(ascii: "0")) }
                sawExponentDigit = true
                cursor += 1
            }
            if !sawExponentDigit { return slow(start, end) }
            exponent += exponentNegative ? -written : written
        }
        guard sawDigit, cursor == end, exact else { return slow(start, end) }
        if mantissa == 0 { return negative ? -0.0 : 0 }
        guard mantissa <= 1 << 53, exponent >= -22, exponent <= 22 else { return slow(start, end) }
        let scaled = exponent < 0 ? Double(mantissa) / powersOfTen[-exponent] : Double(mantissa) * powersOfTen[exponent]
        // A Double exactly halfway between two floats would round a second time: let strtof decide.
        guard scaled >= Double(Float.leastNormalMagnitude), scaled <= Double(Float.greatestFiniteMagnitude),
            scaled.bitPattern & 0x1FFF_FFFF != 0x1000_0000
        else { return slow(start, end) }
        let value = Float(scaled)
        return negative ? -value : value
    }

    /// strtof over a NUL-terminated copy; nil unless it consumes every byte.
    private static func slow(_ start: UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>) -> Float? {
        let count = end - start
        guard count > 0, count < 4096 else { return nil }
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: count + 1) { buffer -> Float? in
            let base = buffer.baseAddress!
            UnsafeMutableRawPointer(base).copyMemory(from: start, byteCount: count)
            base[count] = 0
            // strtof skips leading space itself; fields arrive trimmed, so a space here is inside the field.
            if base[0] == 0x20 || base[0] == 0x09 { return nil }
            var stop: UnsafeMutablePointer<CChar>?
            let value = strtof(base, &stop)
            guard let stop, stop - base == count else { return nil }
            return value
        }
    }
}
