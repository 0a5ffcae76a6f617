/* A growing string: text built piece by piece (the resolved deck, messages, provenance records)
 * is never cut to a fixed buffer. Start with `pirf_sbuf b = {0};`, append with pirf_sbuf_printf,
 * take b.buf (malloc'd, NUL-terminated, NULL while empty) and free it. An allocation failure sets
 * b.oom and makes further appends no-ops, so callers check once at the end. */
#ifndef PIRF_SBUF_H
#define PIRF_SBUF_H

#include <stddef.h>

typedef struct {
  char *buf;
  size_t len, cap;
  int oom;
} pirf_sbuf;

void pirf_sbuf_printf(pirf_sbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), nonnull(1, 2)));

#endif
