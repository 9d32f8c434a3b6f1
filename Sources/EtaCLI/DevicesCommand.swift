import ArgumentParser
import Eta
import Foundation

struct DevicesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devices",
        abstract: "List OpenCL platforms and devices, and which device --device auto picks.")

    static let formats: [OutputFormat] = [.table, .json]

    @Option(
        name: .long, help: OutputFormat.help(DevicesCommand.formats),
        transform: OutputFormat.parser(DevicesCommand.formats)) var format: OutputFormat = .table
    @Flag(name: .long, help: "Explain the auto choice on stderr.") var verbose = false

    func run() throws {
        try Distributed.requireSingleProcess("devices")
        try Console.reportingErrors {
            let platforms = try Platform.all()
            let auto = try DeviceSelection.resolve("auto", environment: [:])
            if verbose { Console.note("auto: \(auto.reason)") }
            var autoName = "cpu"
            if case .opencl(let device) = auto.choice { autoName = device.name }
            var index = 0
            var rows: [JSON] = []
            var table: [String] = []
            for platform in platforms {
                table.append("Platform: \(platform.name) (\(platform.version))")
                for device in try platform.devices() {
                    let picked = device.name == autoName
                    rows.append(
                        .object([
                            ("index", .int(index)), ("selector", .string("opencl:\(index)")),
                            ("platform", .string(platform.name)), ("platform_version", .string(platform.version)),
                            ("name", .string(device.name)), ("type", .string(device.kind.rawValue)),
                            ("simulator", .bool(device.isSimulator)),
                            ("compute_units", .int(device.computeUnits)),
                            ("global_memory_bytes", .int(Int(device.globalMemoryBytes))),
                            ("max_work_group_size", .int(device.maxWorkGroupSize)),
                            ("opencl_c_version", .string(device.openCLCVersion)),
                            ("driver_version", .string(device.driverVersion)),
                            ("auto", .bool(picked)),
                        ]))
                    let simulator =
                        device.isSimulator ? "   (a simulator: picked only by name, e.g. --device oclgrind)" : ""
                    table.append("  opencl:\(index)  \(device.name)\(picked ? "   <- auto" : "")\(simulator)")
                    table.append(
                        "      type \(device.kind.rawValue), \(device.computeUnits) compute units, "
                            + String(format: "%.1f GiB", Double(device.globalMemoryBytes) / 1_073_741_824)
                            + " global memory, max work-group \(device.maxWorkGroupSize), \(device.openCLCVersion)")
                    index += 1
                }
            }
            let cpu = CPUBackend()
            if format == .json {
                try Console.out(
                    JSON.object([
                        ("version", .string(EtaVersion.current)),
                        ("devices", .array(rows)),
                        (
                            "cpu_backend",
                            .object([("device", .string(cpu.info.device)), ("dispatch", .string(cpu.info.driver))])
                        ),
                        ("auto", .string(autoName == "cpu" ? "cpu" : autoName)),
                        ("auto_reason", .string(auto.reason)),
                    ]).pretty())
            } else {
                if platforms.isEmpty {
                    try Console.out("No OpenCL platform installed (\(DeviceSelection.installHint)).")
                }
                for line in table { try Console.out(line) }
                try Console.out(
                    "CPU backend: \(cpu.info.device), \(cpu.info.driver)\(autoName == "cpu" ? "   <- auto" : "")")
                try Console.out(auto.reason)
            }
        }
    }
}
