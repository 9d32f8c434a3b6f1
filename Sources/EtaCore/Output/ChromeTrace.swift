@_exported import EtaBackend

extension TraceEvent {
    /// A Chrome trace-event JSON document (open it in Perfetto or chrome://tracing).
    ///
    /// - Parameters:
    ///   - events: The timed operations; times are shown relative to the earliest start.
    ///   - metadata: Pairs for the document's `otherData` (device, run settings).
    /// - Returns: The document, indented.
    public static func chromeTrace(_ events: [TraceEvent], metadata: [(String, JSON)]) -> String {
        let origin = events.map(\.start).min() ?? 0
        let records: [JSON] = events.map { event in
            .object([
                ("name", .string(event.name)), ("cat", .string("eta")), ("ph", .string("X")),
                ("ts", .double(Double(event.start - origin) / 1000)), ("dur", .double(Double(event.duration) / 1000)),
                ("pid", .int(1)), ("tid", .int(1)),
            ])
        }
        return JSON.object([
            ("traceEvents", .array(records)), ("displayTimeUnit", .string("ms")),
            ("otherData", .object(metadata)),
        ]).pretty()
    }
}
