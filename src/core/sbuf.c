/* Growing strings (see pirf/sbuf.h). */
#include "pirf/sbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void pirf_sbuf_printf(pirf_sbuf *b, const char *fmt, ...) {
  if (b->oom) return;
  va_list ap;
  for (;;) {
    va_start(ap, fmt);
    int n = vsnprintf(b->buf ? b->buf + b->len : NULL, b->buf ? b->cap - b->len : 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
      b->oom = 1;
      return;
    }
    if (b->buf && b->len + (size_t)n < b->cap) {
      b->len += (size_t)n;
      return;
    }
    size_t cap = (b->cap + (size_t)n + 1) * 2;
    char *nb = realloc(b->buf, cap);
    if (!nb) {
      b->oom = 1;
      return;
    }
    b->buf = nb;
    b->cap = cap;
  }
}
