import Eta
import Foundation
import Testing

@Suite("Shell habits and reports: --version, completion scripts, verify --format markdown")
struct ShellCLITests {
    @Test("--version names the version, the commit and the build")
    func version() throws {
        let run = try CLI.run(["--version"])
        #expect(run.status == 0)
        #expect(run.stdout.hasPrefix("eta \(EtaVersion.current) (commit "), "\(run.stdout)")
        #expect(run.stdout.contains(" build, Swift "), "\(run.stdout)")
        // Tests run from a git checkout: the commit is the one HEAD names (12 hex digits).
        let commit = run.stdout.split(separator: " ")[3].trimmingCharacters(in: CharacterSet(charactersIn: ","))
        #expect(commit.count == 12 && commit.allSatisfy(\.isHexDigit), "commit '\(commit)'")
    }

    @Test("bash, zsh and fish completion scripts; bash's loads and completes subcommands and SPEC names")
    func completions() throws {
        for shell in ["bash", "zsh", "fish"] {
            let run = try CLI.run(["--generate-completion-script", shell])
            #expect(run.status == 0 && run.stdout.contains("coord-check"), "\(shell): \(run.stderr)")
        }
        let script = try CLI.run(["--generate-completion-script", "bash"]).stdout
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("eta-\(UUID().uuidString).bash")
        try script.write(to: path, atomically: true, encoding: .utf8)
        // Complete `eta tr` and `eta train --optimizer ad` the way bash's programmable completion calls the function.
        let bash = Process()
        bash.executableURL = URL(fileURLWithPath: "/bin/bash")
        bash.arguments = [
            "-c",
            """
            source '\(path.path)'
            f=$(complete -p eta | sed -E 's/.*-F ([^ ]+).*/\\1/')
            COMP_WORDS=(eta tr); COMP_CWORD=1; COMP_LINE='eta tr'; COMP_POINT=${#COMP_LINE}
            $f eta tr eta; echo "subcommands: ${COMPREPLY[*]}"
            COMP_WORDS=(eta train --optimizer ad); COMP_CWORD=3; COMP_LINE='eta train --optimizer ad'
            COMP_POINT=${#COMP_LINE}
            $f eta ad --optimizer; echo "optimizers: ${COMPREPLY[*]}"
            """,
        ]
        let pipe = Pipe()
        bash.standardOutput = pipe
        bash.environment = ["PATH": CLI.binary.deletingLastPathComponent().path + ":/usr/bin:/bin"]
        try bash.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        bash.waitUntilExit()
        #expect(output.contains("subcommands: train"), "\(output)")
        #expect(output.contains("adam:") && output.contains("adamw:"), "\(output)")
    }

    @Test("verify --format markdown: the verdict, a row per kernel and every check")
    func markdown() throws {
        let run = try CLI.run([
            "verify", "--device", "cpu", "--only", "lion", "--sizes", "1,17", "--format", "markdown",
        ])
        #expect(run.status == 0, "\(run.stderr)")
        let lines = run.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.first == "## eta verify: 14/14 checks passed", "\(run.stdout)")
        #expect(lines.contains("| lion_update | 14 | 1–17 | 0 | 0 | 0 | pass |"), "\(run.stdout)")
        #expect(lines.filter { $0.hasPrefix("| lion_update | `lion") }.count == 14)
        #expect(run.stdout.contains("<details><summary>All 14 checks</summary>"))
        let json = try CLI.run(["verify", "--format", "yaml"])
        #expect(json.status == 64 && json.stderr.contains("table, json, markdown"), "\(json.stderr)")
    }
}
