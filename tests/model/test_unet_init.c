/* unet_init_follows_edm: pirf_unet_init_params reproduces EDM SongUNet's initialization rules
 * (training/networks.py weight_init): every conv/linear weight is xavier_uniform with
 * bound sqrt(6 / (fan_in + fan_out)) * init_weight, fan_in = in*k*k and fan_out = out*k*k,
 * init_weight 1e-5 for conv1, proj and aux_conv, sqrt(0.2) for qkv, 1 otherwise (checked: no
 * value beyond the bound, the largest value near it, the mean square bound^2/3 for large
 * tensors); every bias 0; GroupNorm weights 1. The weights depend only on the seed: two calls
 * agree bit for bit, another seed differs. */
#include "pirf/unet.h"
#include "model_harness.h"
#include "testing.h"

#include <string.h>

static double expected_gain(const char *name) {
  if (strstr(name, "conv1.weight") || strstr(name, "proj.weight") || strstr(name, "aux_conv.weight"))
    return 1e-5;
  if (strstr(name, "qkv.weight")) return sqrt(0.2);
  return 1.0;
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  pirf_unet_config uc = {.resolution = 32, .in_channels = 2, .out_channels = 2,
                         .model_channels = 32, .levels = 3, .channel_mult = {1, 2, 2},
                         .num_blocks = 2, .nattn = 1, .attn_resolutions = {16},
                         .dropout = 0.13, .emb_channels = 128, .noise_channels = 32};
  pirf_unet net;
  TEST_CHECK(!pirf_unet_create(&uc, &net), "building the U-Net");
  const size_t P = net.table.total;
  float *a = model_alloc(P), *b = model_alloc(P), *c = model_alloc(P);
  pirf_unet_init_params(&net, 42, a);
  pirf_unet_init_params(&net, 42, b);
  pirf_unet_init_params(&net, 43, c);
  TEST_CHECK(!memcmp(a, b, P * sizeof *a), "the same seed gives different weights");
  size_t same = 0;
  for (size_t k = 0; k < P; k++) same += a[k] == c[k] && a[k] != 0.0f && a[k] != 1.0f;
  TEST_CHECK(same < P / 1000, "seeds 42 and 43 share %zu weights", same);

  int nmat = 0;
  for (int i = 0; i < net.table.n; i++) {
    const pirf_param *p = &net.table.p[i];
    const float *w = a + p->offset;
    if (strstr(p->name, ".bias")) {
      size_t nz = 0;
      for (size_t e = 0; e < p->count; e++) nz += w[e] != 0.0f;
      TEST_CHECK(nz == 0, "%s has %zu non-zero entries", p->name, nz);
    } else if (p->ndim == 1) {
      size_t n1 = 0;
      for (size_t e = 0; e < p->count; e++) n1 += w[e] != 1.0f;
      TEST_CHECK(n1 == 0, "GroupNorm weight %s has %zu entries != 1", p->name, n1);
    } else {
      nmat++;
      double ksq = p->ndim == 4 ? (double)p->shape[2] * p->shape[3] : 1.0;
      double bound = sqrt(6.0 / (p->shape[1] * ksq + p->shape[0] * ksq)) * expected_gain(p->name);
      double mx = 0, ms = 0;
      for (size_t e = 0; e < p->count; e++) {
        mx = fmax(mx, fabs(w[e]));
        ms += (double)w[e] * w[e];
      }
      ms /= (double)p->count;
      TEST_CHECK(mx <= bound * (1 + 1e-6), "%s: max |w| %g beyond the bound %g", p->name, mx, bound);
      if (p->count >= 100)
        TEST_CHECK(mx >= 0.9 * bound, "%s: max |w| %g far below the bound %g", p->name, mx, bound);
      if (p->count >= 2000)
        TEST_CLOSE(ms, bound * bound / 3, 0.1, 0, p->name);
    }
  }
  TEST_CHECK(nmat > 20, "only %d weight matrices checked", nmat);
  free(a); free(b); free(c);
  pirf_unet_destroy(&net);
  int rc = test_finish("unet_init_follows_edm");
  MPI_Finalize();
  return rc;
}
