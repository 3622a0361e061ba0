#ifndef TALLY_LMDB_SHIM_H
#define TALLY_LMDB_SHIM_H
#include <lmdb.h>
#endif
