/* make_checkpoint DECK OUT.h5 SEED [key=value ...]: a checkpoint for the deck's network with random
 * weights, for the sampling tests. EDM's own initialization (pirf_unet_init_params) makes the
 * output layers ~1e-5, so the network would be nearly the identity and a layout or gradient bug
 * could hide; the weights here are the init plus the model tests' random parameters (xavier-scaled
 * matrices, GroupNorm weights 1 +- 0.3, biases +- 0.3). /ema and /net differ (seeds SEED, SEED+1). */
#include "pirf/checkpoint.h"
#include "pirf/deck.h"
#include "pirf/physics.h"
#include "pirf/unet.h"
#include "model/model_harness.h"

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  if (argc < 4) {
    fprintf(stderr, "usage: make_checkpoint DECK OUT.h5 SEED [key=value ...]\n");
    MPI_Abort(MPI_COMM_WORLD, 2);
  }
  pirf_config *cfg = NULL;
  pirf_unet_config uc;
  pirf_unet net;
  if (pirf_deck_load(argv[1], argc - 4, argv + 4, &cfg) ||
      !pirf_pde_find(pirf_cfg_str(cfg, "pde.name")) ||
      pirf_unet_config_from_deck(cfg, (int)pirf_cfg_int(cfg, "grid.resolution"),
                                 pirf_pde_find(pirf_cfg_str(cfg, "pde.name"))->channels, &uc) ||
      pirf_unet_create(&uc, &net))
    MPI_Abort(MPI_COMM_WORLD, 1);
  const uint32_t seed = (uint32_t)atoi(argv[3]);
  const size_t P = net.table.total;
  float *ema = model_alloc(P), *w = model_alloc(P), *noise = model_alloc(P);
  pirf_unet_init_params(&net, seed, ema);
  pirf_unet_init_params(&net, seed + 1, w);
  model_random_params(&net, seed, noise);
  for (size_t k = 0; k < P; k++) ema[k] += noise[k];
  model_random_params(&net, seed + 1, noise);
  for (size_t k = 0; k < P; k++) w[k] += noise[k];
  pirf_checkpoint ck = {w, ema, NULL, {0, 0, 0, 0, NULL, NULL, NULL}, 1, 1, {seed, 0, 0, 0}};
  if (pirf_checkpoint_write(argv[2], MPI_COMM_WORLD, &net.table, &ck, NULL)) MPI_Abort(MPI_COMM_WORLD, 1);
  free(ema);
  free(w);
  free(noise);
  pirf_unet_destroy(&net);
  pirf_config_destroy(&cfg);
  MPI_Finalize();
  return 0;
}
