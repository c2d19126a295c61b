/* SPDX-License-Identifier: MIT */
/* Job specs; see job.h. The implementation is being written. */
#include "core/job.h"
