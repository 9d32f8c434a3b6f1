// The update loops of Kernels/updates/ for IEEE fp16 state: see eta_updates.h.
#define ETA_STATE_FP16
#include "eta_updates.h"
