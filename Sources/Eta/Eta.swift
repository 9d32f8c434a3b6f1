// The module a Swift user imports: the core (arena, optimizers, Reference, explore, verify), both
// backends, the OpenCL runtime layer, and device selection.
@_exported import EtaCL
@_exported import EtaCPU
@_exported import EtaCore
@_exported import EtaMPI
@_exported import EtaONNX
@_exported import EtaOpenCL
@_exported import EtaSupport
@_exported import EtaTensorBoard
