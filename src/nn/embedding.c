/* EDM positional noise embedding with SongUNet's half swap (see pirf/embedding.h). */
#include "pirf/embedding.h"

#include <math.h>
#include <stddef.h>

void pirf_noise_embedding_forward(float *out, const float *t, int B, int N, double max_positions,
                                  int endpoint) {
  const int h = N / 2;
  /* endpoint=True makes the last frequency exactly 1/max_positions */
  const double denom = (double)(h - (endpoint ? 1 : 0));
  for (int b = 0; b < B; b++) {
    float *e = out + (size_t)b * N;
    for (int j = 0; j < h; j++) {
      double f = pow(1.0 / max_positions, (double)j / denom);
      double a = (double)t[b] * f;
      /* EDM builds [cos, sin]; SongUNet flips the two halves, so sin comes first. */
      e[j] = (float)sin(a);
      e[h + j] = (float)cos(a);
    }
  }
}
