// CLBlast's C interface (Debian libclblast-dev), for the OpenCL backend's GEMM.
#define CL_TARGET_OPENCL_VERSION 300
#define CL_USE_DEPRECATED_OPENCL_1_2_APIS
#include <clblast_c.h>
