/* CTallyPrefetch is header-only (include/tally_prefetch.h); a C target needs one source file. */
#include "tally_prefetch.h"
