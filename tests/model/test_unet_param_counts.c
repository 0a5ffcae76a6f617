/* unet_param_counts_match_edm: the parameter table built from a deck (command-line overrides, no
 * deck file) has exactly the parameter counts of EDM's SongUNet constructor (docs/algorithm.md §4.2) for
 * the paper's three configurations, per part, with EDM's state_dict names and PyTorch shapes in
 * module order; the full-resolution decoder level is one contiguous range. */
#include "pirf/check.h"
#include "pirf/deck.h"
#include "pirf/physics.h"
#include "pirf/unet.h"
#include "testing.h"

#include <string.h>

typedef struct {
  const char *pde, *res;
  size_t total, map, encoder, dec2, dec1, dec0;
} expected;

static void check_config(const expected *e) {
  char o1[64], o2[64];
  snprintf(o1, sizeof o1, "pde.name=%s", e->pde);
  snprintf(o2, sizeof o2, "grid.resolution=%s", e->res);
  char *over[] = {o1, o2};
  pirf_config *cfg = NULL;
  int err = pirf_config_load(&cfg, pirf_deck_tables(), NULL, 2, over);
  TEST_CHECK(!err, "loading the default deck with %s %s", o1, o2);
  if (err) return;
  pirf_unet_config uc;
  pirf_unet net;
  err = pirf_unet_config_from_deck(cfg, (int)pirf_cfg_int(cfg, "grid.resolution"),
                                   pirf_pde_find(e->pde)->channels, &uc);
  if (!err) err = pirf_unet_create(&uc, &net);
  TEST_CHECK(!err, "building the U-Net for %s", e->pde);
  pirf_config_destroy(&cfg);
  if (err) return;
  pirf_unet_counts c;
  pirf_unet_count(&net, &c);
  TEST_CHECK(c.total == e->total, "%s %s: total %zu, EDM has %zu", e->pde, e->res, c.total, e->total);
  TEST_CHECK(c.map == e->map, "%s: map %zu vs %zu", e->pde, c.map, e->map);
  TEST_CHECK(c.encoder == e->encoder, "%s: encoder %zu vs %zu", e->pde, c.encoder, e->encoder);
  TEST_CHECK(c.dec[2] == e->dec2, "%s: decoder R/4 %zu vs %zu", e->pde, c.dec[2], e->dec2);
  TEST_CHECK(c.dec[1] == e->dec1, "%s: decoder R/2 %zu vs %zu", e->pde, c.dec[1], e->dec1);
  TEST_CHECK(c.dec[0] == e->dec0, "%s: decoder R %zu vs %zu", e->pde, c.dec[0], e->dec0);

  /* The table is contiguous and sums to the total. */
  size_t off = 0;
  for (int i = 0; i < net.table.n; i++) {
    TEST_CHECK(net.table.p[i].offset == off, "%s is not contiguous", net.table.p[i].name);
    off += net.table.p[i].count;
  }
  TEST_CHECK(off == net.table.total, "table sums to %zu, total %zu", off, net.table.total);

  /* The full-resolution decoder level is the arena's tail, starting at dec.RxR_up. */
  int first, end;
  pirf_unet_decoder_level_range(&net, 0, &first, &end);
  char name[96];
  snprintf(name, sizeof name, "dec.%sx%s_up.norm0.weight", e->res, e->res);
  TEST_CHECK(first == pirf_param_find(&net.table, name) && end == net.table.n,
             "decoder level 0 is [%d, %d), expected to start at %s", first, end, name);
  size_t n0 = 0;
  for (int i = first; i < end; i++) n0 += net.table.p[i].count;
  TEST_CHECK(n0 == e->dec0, "decoder level 0 range holds %zu parameters", n0);
  pirf_unet_destroy(&net);
}

/* Names and shapes of a few tensors, against EDM's state_dict for the 128x128 C=2 model. */
static void check_names(void) {
  pirf_unet_config uc = {.resolution = 128, .in_channels = 2, .out_channels = 2,
                         .model_channels = 128, .levels = 3, .channel_mult = {2, 2, 2},
                         .num_blocks = 4, .nattn = 1, .attn_resolutions = {16}, .dropout = 0.13,
                         .emb_channels = 512, .noise_channels = 128};
  pirf_unet net;
  TEST_CHECK(!pirf_unet_create(&uc, &net), "building the paper's U-Net");
  struct { const char *name; int ndim, s[4]; } want[] = {
      {"map_layer0.weight", 2, {512, 128}},
      {"map_layer1.bias", 1, {512}},
      {"enc.128x128_conv.weight", 4, {128, 2, 3, 3}},
      {"enc.128x128_block0.skip.weight", 4, {256, 128, 1, 1}},
      {"enc.128x128_block0.affine.weight", 2, {256, 512}},
      {"enc.64x64_down.skip.weight", 4, {256, 256, 1, 1}},
      {"dec.32x32_in0.qkv.weight", 4, {768, 256, 1, 1}},
      {"dec.32x32_in0.proj.bias", 1, {256}},
      {"dec.32x32_block0.norm0.weight", 1, {512}},
      {"dec.32x32_block0.conv0.weight", 4, {256, 512, 3, 3}},
      {"dec.128x128_block4.conv0.weight", 4, {256, 384, 3, 3}},
      {"dec.128x128_aux_norm.weight", 1, {256}},
      {"dec.128x128_aux_conv.weight", 4, {2, 256, 3, 3}},
  };
  for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
    int i = pirf_param_find(&net.table, want[k].name);
    TEST_CHECK(i >= 0, "%s is missing", want[k].name);
    if (i < 0) continue;
    const pirf_param *p = &net.table.p[i];
    int same = p->ndim == want[k].ndim;
    for (int d = 0; d < p->ndim && same; d++) same = p->shape[d] == want[k].s[d];
    TEST_CHECK(same, "%s has the wrong shape", want[k].name);
  }
  /* Parts that must not exist: in1 has no attention, in-place blocks no skip. */
  TEST_CHECK(pirf_param_find(&net.table, "dec.32x32_in1.qkv.weight") < 0, "in1 has attention");
  TEST_CHECK(pirf_param_find(&net.table, "enc.128x128_block1.skip.weight") < 0, "block1 has skip");
  /* Module order at the ends: EDM state_dict order. */
  TEST_CHECK(!strcmp(net.table.p[0].name, "map_layer0.weight"), "first is %s", net.table.p[0].name);
  TEST_CHECK(!strcmp(net.table.p[net.table.n - 1].name, "dec.128x128_aux_conv.bias"), "last is %s",
             net.table.p[net.table.n - 1].name);
  pirf_unet_destroy(&net);
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  const expected cases[] = {
      {"darcy", "128", 54410882, 328704, 18247040, 13059584, 11549184, 11226370},
      {"burgers", "128", 54407425, 328704, 18245888, 13059584, 11549184, 11224065},
      {"kolmogorov", "256", 54414339, 328704, 18248192, 13059584, 11549184, 11228675},
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) check_config(&cases[k]);
  check_names();
  int rc = test_finish("unet_param_counts_match_edm");
  MPI_Finalize();
  return rc;
}
