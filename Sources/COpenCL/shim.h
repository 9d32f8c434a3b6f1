// OpenCL 3.0 headers, with the 1.2 entry points Eta uses still declared.
#ifndef ETA_COPENCL_SHIM_H
#define ETA_COPENCL_SHIM_H
#define CL_TARGET_OPENCL_VERSION 300
#define CL_USE_DEPRECATED_OPENCL_1_2_APIS
#include <CL/cl.h>
#endif
