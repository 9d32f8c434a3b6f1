import Foundation

/// Builds an ONNX graph node by node: float32 and int64 initializers, nodes with attributes, fresh value names.
struct ONNXGraph {
    var graph = Eta_Onnx_GraphProto()
    private var counter = 0

    /// A new value name derived from `base`.
    mutating func name(_ base: String) -> String {
        counter += 1
        return "\(base):\(counter)"
    }

    /// A float32 initializer (its values little-endian in raw_data).
    @discardableResult
    mutating func initializer(_ name: String, _ values: [Float], shape: [Int]) -> String {
        var tensor = Eta_Onnx_TensorProto()
        tensor.name = name
        tensor.dims = shape.map(Int64.init)
        tensor.dataType = Int32(Eta_Onnx_TensorProto.DataType.float.rawValue)
        tensor.rawData = values.withUnsafeBufferPointer { Data(buffer: $0) }
        graph.initializer.append(tensor)
        return name
    }

    /// An int64 initializer (shapes, indices).
    @discardableResult
    mutating func integers(_ name: String, _ values: [Int]) -> String {
        var tensor = Eta_Onnx_TensorProto()
        tensor.name = name
        tensor.dims = [Int64(values.count)]
        tensor.dataType = Int32(Eta_Onnx_TensorProto.DataType.int64.rawValue)
        tensor.rawData = values.map { Int64($0).littleEndian }.withUnsafeBufferPointer { Data(buffer: $0) }
        graph.initializer.append(tensor)
        return name
    }

    /// A scalar float32 initializer.
    mutating func scalar(_ value: Float, _ base: String) -> String { initializer(name(base), [value], shape: []) }

    /// Appends a node and returns its (first) output.
    @discardableResult
    mutating func node(
        _ op: String, _ inputs: [String], attributes: [Eta_Onnx_AttributeProto] = [], output: String? = nil
    ) -> String {
        var node = Eta_Onnx_NodeProto()
        node.opType = op
        node.input = inputs
        let result = output ?? name(op)
        node.output = [result]
        node.name = result
        node.attribute = attributes
        graph.node.append(node)
        return result
    }

    static func ints(_ name: String, _ values: [Int]) -> Eta_Onnx_AttributeProto {
        var attribute = Eta_Onnx_AttributeProto()
        attribute.name = name
        attribute.type = .ints
        attribute.ints = values.map(Int64.init)
        return attribute
    }

    static func int(_ name: String, _ value: Int) -> Eta_Onnx_AttributeProto {
        var attribute = Eta_Onnx_AttributeProto()
        attribute.name = name
        attribute.type = .int
        attribute.i = Int64(value)
        return attribute
    }

    static func float(_ name: String, _ value: Float) -> Eta_Onnx_AttributeProto {
        var attribute = Eta_Onnx_AttributeProto()
        attribute.name = name
        attribute.type = .float
        attribute.f = value
        return attribute
    }

    /// A graph input or output: its element type and shape, `batch` for the first dimension.
    static func value(
        _ name: String, elementType: Eta_Onnx_TensorProto.DataType, shape: [Int]
    ) -> Eta_Onnx_ValueInfoProto {
        var tensor = Eta_Onnx_TypeProto.Tensor()
        tensor.elemType = Int32(elementType.rawValue)
        var dims = Eta_Onnx_TensorShapeProto()
        var batch = Eta_Onnx_TensorShapeProto.Dimension()
        batch.dimParam = "batch"
        dims.dim =
            [batch]
            + shape.map { value in
                var dim = Eta_Onnx_TensorShapeProto.Dimension()
                dim.dimValue = Int64(value)
                return dim
            }
        tensor.shape = dims
        var info = Eta_Onnx_ValueInfoProto()
        info.name = name
        info.type.tensorType = tensor
        return info
    }
}
