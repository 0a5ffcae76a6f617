/* export_unet: writes one denoiser evaluation for an outside cross-check (not a test).
 *
 *   ./export_unet DIR [R=32] [channels=16] [num_blocks=2]
 *
 * SongUNet with channel_mult [1, 2, 2], attention at R/4, 2 data channels, random weights; B = 2
 * samples with sigma 0.4 and 2.5, eval mode (no dropout). Writes, as raw little-endian float32 in
 * DIR: params.bin (table order), grad.bin (dL/dparams), x.bin, r.bin, D.bin, dx.bin ([B][C][R][R]),
 * and names.txt ("name ndim s0 s1 s2 s3 offset count" per tensor) and config.txt. L = <r, D>.
 * tests/model/crosscheck_edm.py loads them into EDM's own PyTorch EDMPrecond and compares. */
#include "pirf/precond.h"
#include "pirf/unet_eval.h"
#include "model_harness.h"

static void write_floats(const char *dir, const char *name, const float *v, size_t n) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(v, sizeof *v, n, f) != n) {
    fprintf(stderr, "cannot write %s\n", path);
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  fclose(f);
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  if (argc < 2) {
    fprintf(stderr, "usage: export_unet DIR [R] [channels] [num_blocks]\n");
    return 2;
  }
  const char *dir = argv[1];
  int R = argc > 2 ? atoi(argv[2]) : 32, mc = argc > 3 ? atoi(argv[3]) : 16;
  int nb = argc > 4 ? atoi(argv[4]) : 2;
  pirf_unet_config uc = {.resolution = R, .in_channels = 2, .out_channels = 2,
                         .model_channels = mc, .levels = 3, .channel_mult = {1, 2, 2},
                         .num_blocks = nb, .nattn = 1, .attn_resolutions = {R / 4},
                         .dropout = 0.0, .emb_channels = 4 * mc, .noise_channels = mc};
  pirf_unet net;
  pirf_decomp dc;
  pirf_unet_work *w;
  pirf_unet_tape *t;
  const int B = 2;
  if (pirf_unet_create(&uc, &net) || pirf_decomp_create(MPI_COMM_SELF, R, R, 1, 1, 3, &dc) ||
      pirf_unet_work_create(&net, &dc, B, 1, &w) || pirf_unet_tape_create(&net, &dc, B, &t))
    MPI_Abort(MPI_COMM_WORLD, 1);
  pirf_level L0;
  pirf_level_init(&L0, &dc, 0);
  const size_t P = net.table.total, nx = (size_t)B * 2 * R * R;
  float *params = model_alloc(P), *g = model_alloc(P), *x = model_alloc(nx), *r = model_alloc(nx);
  float *D = model_alloc(nx), *dx = model_alloc(nx);
  model_random_params(&net, 21, params);
  model_fill_tile(&L0, B, 0, 2, 1, x);
  model_fill_tile(&L0, B, 0, 2, 2, r);
  double sigma[2] = {0.4, 2.5};
  if (pirf_edm_denoise(&net, w, t, params, x, sigma, B, NULL, D) ||
      pirf_edm_denoise_backward(&net, w, t, params, r, g, 0, net.table.n, dx))
    MPI_Abort(MPI_COMM_WORLD, 1);
  write_floats(dir, "params.bin", params, P);
  write_floats(dir, "grad.bin", g, P);
  write_floats(dir, "x.bin", x, nx);
  write_floats(dir, "r.bin", r, nx);
  write_floats(dir, "D.bin", D, nx);
  write_floats(dir, "dx.bin", dx, nx);
  char path[1024];
  snprintf(path, sizeof path, "%s/names.txt", dir);
  FILE *f = fopen(path, "w");
  for (int i = 0; f && i < net.table.n; i++) {
    const pirf_param *p = &net.table.p[i];
    fprintf(f, "%s %d %d %d %d %d %zu %zu\n", p->name, p->ndim, p->shape[0], p->shape[1],
            p->shape[2], p->shape[3], p->offset, p->count);
  }
  if (f) fclose(f);
  snprintf(path, sizeof path, "%s/config.txt", dir);
  f = fopen(path, "w");
  if (f) {
    fprintf(f, "resolution %d\nchannels %d\nnum_blocks %d\nattn %d\nB %d\nsigma %.17g %.17g\n", R,
            mc, nb, R / 4, B, sigma[0], sigma[1]);
    fclose(f);
  }
  printf("wrote %d tensors (%zu parameters) and one evaluation to %s\n", net.table.n, P, dir);
  MPI_Finalize();
  return 0;
}
