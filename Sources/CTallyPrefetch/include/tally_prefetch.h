#ifndef TALLY_PREFETCH_H
#define TALLY_PREFETCH_H

/* A hint to start loading the cache line at `address`, to be written soon: the rebuild's
   write-back cache asks for the table slots of an event's member cells before it folds the
   event's other cells, so the memory latency of the lookups overlaps. */
static inline void tally_prefetch(const void *address) { __builtin_prefetch(address, 1, 3); }

/* The same, for a line to be read soon: a rebuild asks for the next event's record while it
   folds the current one. */
static inline void tally_prefetch_for_reading(const void *address) { __builtin_prefetch(address, 0, 3); }
#endif
