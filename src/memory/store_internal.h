/* store_internal.h — what the memory layer's own files share about a store.
 *
 * The store's SQLite connection, and the one function that turns an SQLite
 * result code into a status with a sentence. retrieve.c runs its own FTS5
 * queries on the store's connection, so it needs both; nothing outside
 * src/memory/ should (apps and the orchestrator use store.h and retrieve.h
 * only). The one exception is tests/test_store.c, which limits the
 * connection's page count to make a full disk.
 *
 * Owns: nothing; the connection belongs to the mem_store (store.c).
 * Included by: store.c, retrieve.c, tests/test_store.c.
 */
#ifndef LS_STORE_INTERNAL_H
#define LS_STORE_INTERNAL_H

#include <sqlite3.h>

#include "base/status.h"
#include "memory/store.h"

/* The store's connection: valid until mem_close(s). Do not close it. */
sqlite3 *mem_db(mem_store *s);

/* Turns an SQLite failure into a status with a sentence for the user
 * ("doing" says what was being done: "saving the turn"): busy, read-only,
 * full disk, damaged file, out of memory each get their own way out. */
ls_status mem_fail(mem_store *s, int sqlite_rc, const char *doing);

#endif
