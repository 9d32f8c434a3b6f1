import Foundation
import Testing

/// Renders SVG files in headless Chromium (Debian's `chromium`, installed by tools/setup.sh): a page draws the image
/// into a canvas and records its size and how many pixels are not near-white, or that the image failed to load.
enum Chromium {
    static let binary = "/usr/bin/chromium"

    /// "loaded WxH dark N", "error", or the page's first script error.
    static func render(_ svg: URL) throws -> String {
        let page = svg.deletingPathExtension().appendingPathExtension("html")
        let html = """
            <!doctype html><html><body><img id="i" src="\(svg.lastPathComponent)"><script>
            window.onerror = (m) => document.body.setAttribute('data-result', 'script error ' + m);
            const i = document.getElementById('i');
            i.onload = () => {
              const c = document.createElement('canvas'); c.width = i.naturalWidth; c.height = i.naturalHeight;
              const x = c.getContext('2d'); x.drawImage(i, 0, 0);
              const d = x.getImageData(0, 0, c.width, c.height).data; let n = 0;
              for (let k = 0; k < d.length; k += 4) { if (d[k] < 200 || d[k + 1] < 200 || d[k + 2] < 200) n++; }
              document.body.setAttribute('data-result', 'loaded ' + c.width + 'x' + c.height + ' dark ' + n);
            };
            i.onerror = () => document.body.setAttribute('data-result', 'error');
            </script></body></html>
            """
        try html.write(to: page, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = [
            "--headless", "--no-sandbox", "--disable-gpu", "--allow-file-access-from-files",
            "--virtual-time-budget=5000", "--dump-dom", page.absoluteString,
        ]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let dom = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard let range = dom.range(of: #"data-result="[^"]*""#, options: .regularExpression) else {
            return "no result (chromium exited \(process.terminationStatus))"
        }
        return String(dom[range].dropFirst(13).dropLast())
    }
}

@Suite("Plots in a real viewer (headless Chromium)")
struct ChromiumRenderTests {
    @Test("every command's SVG plot loads in Chromium without errors and draws something; a broken one is caught")
    func plots() throws {
        #expect(
            FileManager.default.isExecutableFile(atPath: Chromium.binary),
            "headless Chromium is missing: tools/setup.sh installs Debian's chromium")
        guard FileManager.default.isExecutableFile(atPath: Chromium.binary) else { return }
        let dir = folder()
        func path(_ name: String) -> String { dir.path + "/" + name }
        let commands: [(String, [String])] = [
            ("train.svg", ["train", "--epochs", "2", "--plot", path("train.svg"), "--quiet"]),
            ("lr-find.svg", ["lr-find", "--num-iter", "40", "--plot", path("lr-find.svg")]),
            (
                "sweep.svg",
                ["sweep", "--lrs", "1e-3,1e-2", "--epochs", "2", "--widths", "16,64", "--plot", path("sweep.svg")]
            ),
            (
                "explore.svg",
                ["explore", "--lrs", "1e-3,2e-3", "--optimizer", "sgd:momentum=0.9", "--plot", path("explore.svg")]
            ),
            (
                "schedule.svg",
                ["schedule", "cosine:t_max=50", "--lr", "0.1", "--steps", "50", "--plot", path("schedule.svg")]
            ),
            ("bench.svg", ["bench", "--params", "4096,65536", "--repeat", "2", "--plot", path("bench.svg")]),
            (
                "step.svg",
                [
                    "bench", "--model", "mlp:hidden=32", "--inputs", "16", "--outputs", "4", "--repeat", "2", "--plot",
                    path("step.svg"),
                ]
            ),
            (
                "coord.svg",
                ["coord-check", "--widths", "16,32", "--steps", "2", "--seeds", "1", "--plot", path("coord.svg")]
            ),
        ]
        for (file, arguments) in commands {
            let run = try CLI.run(arguments + (arguments[0] == "schedule" ? [] : ["--device", "cpu"]))
            #expect(run.status == 0, "\(arguments): \(run.stderr)")
            let result = try Chromium.render(URL(fileURLWithPath: path(file)))
            let parts = result.split(separator: " ")
            #expect(parts.first == "loaded" && (Int(parts.last ?? "") ?? 0) > 1000, "\(file): \(result)")
        }
        let roofline = try String(contentsOfFile: path("bench.svg"), encoding: .utf8)
        #expect(roofline.contains(">copy<") && roofline.contains(">stream28<") && roofline.contains(">adam<"))
        let step = try String(contentsOfFile: path("step.svg"), encoding: .utf8)
        #expect(step.contains(">gemm ") && step.contains("adam_update") && step.contains("%)"))
        // The check can fail: an SVG with an unclosed element does not load.
        try "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\"><rect".write(
            toFile: path("broken.svg"), atomically: true, encoding: .utf8)
        #expect(try Chromium.render(URL(fileURLWithPath: path("broken.svg"))) == "error")
    }
}
