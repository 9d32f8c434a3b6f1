#!/usr/bin/env bash
# Regenerates the Swift code of Eta's protobuf schemas (tools/protos/*.proto) with swift-protobuf's protoc-gen-swift
# (the version Package.swift depends on), so builds never compile the code generator (about ten minutes): the
# output is committed. Needs protoc (Debian: protobuf-compiler). Usage: tools/generate-protos.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=${ETA_PROTOC_WORK:-/tmp/eta-protoc-gen-swift}
version=1.39.0
mkdir -p "$work/Sources/Placeholder"
cat > "$work/Package.swift" <<SWIFT
// swift-tools-version:5.9
import PackageDescription
let package = Package(
    name: "Placeholder",
    dependencies: [.package(url: "https://github.com/apple/swift-protobuf", exact: "$version")],
    targets: [.target(name: "Placeholder", dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")])]
)
SWIFT
echo "// builds protoc-gen-swift" > "$work/Sources/Placeholder/Placeholder.swift"
swift build --package-path "$work" -c release --product protoc-gen-swift
plugin="$work/.build/release/protoc-gen-swift"
for pair in tensorboard_event:EtaTensorBoard onnx_model:EtaONNX; do
    proto=${pair%%:*} target=${pair##*:}
    protoc --plugin=protoc-gen-swift="$plugin" --swift_opt=Visibility=Public \
        --swift_out="$root/Sources/$target" --proto_path="$root/tools/protos" "$root/tools/protos/$proto.proto"
    echo "generated Sources/$target/$proto.pb.swift with protoc-gen-swift $version"
done
