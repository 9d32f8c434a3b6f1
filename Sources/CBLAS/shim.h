// OpenBLAS's CBLAS interface (Debian libopenblas-dev), for the CPU backend's GEMM.
#include <cblas.h>
