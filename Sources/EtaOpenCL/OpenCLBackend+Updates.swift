import EtaBackend
import EtaCL

extension OpenCLBackend {
    /// Flag bit telling an elementwise kernel to read its scalars from the group table (`OPT_GROUPED`).
    static let groupedFlag: Int32 = 256

    public func run(_ update: UpdateCommand) throws {
        launchLock.lock()
        defer { launchLock.unlock() }
        switch update {
        case .update(let l):
            let kernel = try updatePrograms(l.storage).kernel(l.kernel)
            try kernel.setArgument(0, device(l.parameters))
            try kernel.setArgument(1, device(l.gradients))
            // Absent state slots are never read or written; any valid buffer fills the argument.
            let slots = l.blocks == nil ? 3 : 4
            for slot in 0..<slots {
                try kernel.setArgument(2 + slot, device((slot < l.states.count ? l.states[slot] : nil) ?? l.gradients))
            }
            try kernel.setArgument(2 + slots, UInt64(l.count))
            for (index, value) in l.scalars.padded.enumerated() { try kernel.setArgument(3 + slots + index, value) }
            try kernel.setArgument(15 + slots, l.scalars.flags | (l.groups != nil ? Self.groupedFlag : 0))
            if let blocks = l.blocks {
                try kernel.setArgument(20, device(blocks.table))
                try kernel.setArgument(21, device(blocks.partials))
                if blocks.count > 0 {
                    try enqueue(kernel, global: blocks.count * blockLocalSize, local: blockLocalSize)
                }
            } else {
                let table = try l.groups.map(groupTable)
                try kernel.setArgument(19, table?.chunks ?? device(l.gradients))
                try kernel.setArgument(20, table?.scalars ?? device(l.gradients))
                // The float32 master copy (read by ETA_MASTER builds only).
                try kernel.setArgument(21, device(l.storage.master ?? l.gradients))
                try launch(kernel, count: l.count)
            }
        }
    }

    /// The device copy of a group table, made on first use of its layout, with this step's scalars written to it.
    private func groupTable(_ groups: UpdateGroups) throws -> (chunks: Buffer, scalars: Buffer) {
        let key = ObjectIdentifier(groups.layout)
        let entry: (layout: GroupLayout, chunks: Buffer, scalars: Buffer)
        if let cached = groupTables[key] {
            entry = cached
        } else {
            // A run makes one or two layouts; a long-lived backend drops old ones rather than keep them all.
            if groupTables.count >= 8 { groupTables.removeAll() }
            let chunkGroups = groups.layout.chunkGroups
            let chunks = try context.makeBuffer(bytes: max(4, chunkGroups.count))
            if !chunkGroups.isEmpty {
                try chunkGroups.withUnsafeBytes { try chunks.write(from: $0, offset: 0) }
            }
            let scalars = try context.makeBuffer(bytes: groups.layout.groupCount * UpdateScalars.capacity * 4)
            entry = (groups.layout, chunks, scalars)
            groupTables[key] = entry
        }
        var rows = [Float]()
        rows.reserveCapacity(groups.scalars.count * UpdateScalars.capacity)
        for row in groups.scalars {
            rows += row + [Float](repeating: 0, count: max(0, UpdateScalars.capacity - row.count))
        }
        try rows.withUnsafeBytes { try entry.scalars.write(from: $0, offset: 0) }
        return (entry.chunks, entry.scalars)
    }
}
