// The update loops of Kernels/updates/ for bfloat16 state: see eta_updates.h.
#define ETA_STATE_BF16
#include "eta_updates.h"
