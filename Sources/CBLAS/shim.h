// OpenBLAS's CBLAS declarations (Debian libopenblas-dev). The library itself is loaded at run time by
// EtaCPU's OpenBLAS loader, after it has chosen the kernel set for this CPU.
#include <cblas.h>
