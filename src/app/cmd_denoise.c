/* `pirf denoise --checkpoint C --input X.h5 --sigma S --output Y.h5 [--cotangent G.h5]
 *               [--weights ema|net] [--batch B] [key=value ...]`:
 * one evaluation of the EDM-preconditioned denoiser D(x; sigma) of a checkpoint on the fields of a
 * file, and optionally its vector-Jacobian products, so a user can compare pirf with PyTorch EDM
 * on the same numbers (docs/verify-pytorch.md).
 *
 * The command takes no deck: the network is built from the deck stored in the checkpoint
 * (attribute `deck`), so its shapes are those the checkpoint was written with. Overrides
 * key=value apply on top of that deck (parallel.tiles, and the model.* keys of a checkpoint
 * written by PyTorch with an empty deck; such a checkpoint takes the data channels and resolution
 * from the input file). parallel.tiles defaults to [1, 1]: every rank is a data group, whatever
 * layout the checkpoint was trained on.
 *
 * Output Y.h5: /fields (N, C, H, W) = D(x; sigma) in eval mode (no dropout); with a cotangent G
 * (/fields of G.h5, the same shape as X) also
 *   /vjp_input (N, C, H, W) = (dD/dx)^T G, per sample;
 *   /vjp/<state_dict name>  = sum over the samples of (dD/dtheta)^T G, in PyTorch shapes (the
 *                             gradient of sum(D * G) that torch.autograd gives for the weights).
 * Samples are processed B at a time, batches dealt round-robin to the data groups; the parameter
 * sums are reduced over all ranks at the end. Root attributes record sigma, the checkpoint, the
 * weights group and the resolved deck. */
#include "pirf/app.h"
#include "pirf/check.h"
#include "pirf/checkpoint.h"
#include "pirf/dataset.h"
#include "pirf/deck.h"
#include "pirf/log.h"
#include "pirf/physics.h"
#include "pirf/precond.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
  const char *ckpt, *input, *output, *cot, *weights;
  double sigma;
  long batch;
  int nover;
  char **over; /* key=value overrides (points into argv) */
} denoise_args;

/* Every rank parses the same argv, so these user checks reach the same verdict everywhere. */
static int parse_args(int nargs, char **args, denoise_args *a) {
  const char *sigma = NULL, *batch = NULL;
  a->weights = "ema";
  for (int i = 0; i < nargs; i++) {
    const char *s = args[i];
    if (strncmp(s, "--", 2) != 0) {
      PIRF_USER_CHECK(strchr(s, '=') != NULL,
                      "denoise: unexpected argument '%s'; give --option VALUE or key=value", s);
      a->over[a->nover++] = args[i];
      continue;
    }
    PIRF_USER_CHECK(i + 1 < nargs, "denoise: option '%s' needs a value", s);
    const char *v = args[++i];
    if (!strcmp(s, "--checkpoint")) a->ckpt = v;
    else if (!strcmp(s, "--input")) a->input = v;
    else if (!strcmp(s, "--output")) a->output = v;
    else if (!strcmp(s, "--cotangent")) a->cot = v;
    else if (!strcmp(s, "--weights")) a->weights = v;
    else if (!strcmp(s, "--sigma")) sigma = v;
    else if (!strcmp(s, "--batch")) batch = v;
    else
      PIRF_USER_CHECK(0, "denoise: unknown option '%s'; the options are --checkpoint, --input, "
                      "--sigma, --output, --cotangent, --weights, --batch", s);
  }
  PIRF_USER_CHECK(a->ckpt && a->input && a->output && sigma,
                  "denoise needs --checkpoint C.h5 --input X.h5 --sigma S --output Y.h5 (missing "
                  "%s)", !a->ckpt ? "--checkpoint" : !a->input ? "--input" : !a->output ? "--output"
                                                                                  : "--sigma");
  char *end;
  a->sigma = strtod(sigma, &end);
  PIRF_USER_CHECK(*sigma && !*end && isfinite(a->sigma) && a->sigma > 0,
                  "denoise: --sigma must be a positive number (the noise level of the input), got "
                  "'%s'", sigma);
  a->batch = 1;
  if (batch) {
    a->batch = strtol(batch, &end, 10);
    PIRF_USER_CHECK(*batch && !*end && a->batch >= 1 && a->batch <= 1000000,
                    "denoise: --batch must be a positive integer, got '%s'", batch);
  }
  PIRF_USER_CHECK(!strcmp(a->weights, "ema") || !strcmp(a->weights, "net") ||
                      !strcmp(a->weights, "ref"),
                  "denoise: --weights must be ema, net or ref (the checkpoint group), got '%s'",
                  a->weights);
  return 0;
}

/* The checkpoint's stored deck (an empty string when it has none), on every rank: rank 0 reads
 * the attribute with the serial driver and broadcasts it, before the model (and so the parameter
 * table the collective checkpoint reader needs) exists. */
static int stored_deck(const char *path, char **deck) {
  int rank;
  PIRF_MPI(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
  long len = -1; /* -1: unreadable file, -2: not a checkpoint */
  char *text = NULL;
  int why = 0;
  if (rank == 0) {
    if (access(path, R_OK) != 0) {
      why = errno;
    } else {
      hid_t f;
      H5E_BEGIN_TRY { f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT); }
      H5E_END_TRY;
      if (f < 0) {
        len = -2;
      } else {
        if (pirf_attr_exists(f, "deck") > 0 && pirf_attr_read_str(f, "deck", &text) == 0 && text)
          len = (long)strlen(text);
        else
          len = 0; /* a checkpoint written without a deck (e.g. from PyTorch) */
        H5Fclose(f);
      }
    }
  }
  PIRF_MPI(MPI_Bcast(&len, 1, MPI_LONG, 0, MPI_COMM_WORLD));
  PIRF_MPI(MPI_Bcast(&why, 1, MPI_INT, 0, MPI_COMM_WORLD));
  PIRF_USER_CHECK(len != -1, "denoise: cannot read the checkpoint '%s' (%s); check the path",
                  path, strerror(why));
  PIRF_USER_CHECK(len != -2, "denoise: '%s' is not an HDF5 file (or is damaged); --checkpoint "
                  "wants a pirf checkpoint", path);
  if (rank != 0) PIRF_ALLOC(text, len + 1, "the stored deck");
  if (!text) PIRF_ALLOC(text, 1, "the stored deck");
  if (len > 0) PIRF_MPI(MPI_Bcast(text, (int)len, MPI_CHAR, 0, MPI_COMM_WORLD));
  text[len] = 0;
  *deck = text;
  return 0;
}

/* Load the stored deck text (through a private temporary file: the deck loader reads files) with
 * parallel.tiles = [1, 1] and then the user's overrides on top. */
static int load_deck(const char *yaml, const denoise_args *a, pirf_config **cfg) {
  char **over = calloc((size_t)a->nover + 1, sizeof *over);
  PIRF_CHECK(over, "out of memory");
  int n = 0, tiles_given = 0; /* the user's parallel.tiles replaces the default (a key is given once) */
  for (int i = 0; i < a->nover; i++) tiles_given |= !strncmp(a->over[i], "parallel.tiles=", 15);
  if (!tiles_given) over[n++] = "parallel.tiles=[1, 1]";
  for (int i = 0; i < a->nover; i++) over[n++] = a->over[i];
  char tmp[4096] = "";
  int err = 0;
  if (*yaml) {
    const char *dir = getenv("TMPDIR");
    snprintf(tmp, sizeof tmp, "%s/pirf-deck-XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(tmp);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    int ok = f && fputs(yaml, f) >= 0;
    if (f) ok = (fclose(f) == 0) && ok;
    else if (fd >= 0) close(fd);
    if (!ok) {
      if (fd >= 0) unlink(tmp);
      free(over);
      PIRF_CHECK(0, "cannot write the checkpoint's deck to a temporary file '%s'", tmp);
    }
  }
  err = pirf_config_load(cfg, pirf_deck_tables(), *yaml ? tmp : NULL, n, over);
  if (*yaml) unlink(tmp);
  free(over);
  if (!err && *yaml) { /* the field files are checked against the checkpoint's PDE */
    const pirf_pde *pde = pirf_pde_find(pirf_cfg_str(*cfg, "pde.name"));
    pirf_io_expect(pirf_cfg_str(*cfg, "pde.name"), pde ? pde->channel_names : NULL);
  }
  return err;
}

/* Everything one run holds, so one function frees it on every path. */
typedef struct {
  pirf_config *cfg;
  char *deck;
  pirf_decomp dc;
  pirf_unet net;
  pirf_unet_work *work;
  pirf_unet_tape *tape;
  pirf_dataset xs, gs, ys;
  hid_t vjp_input;
  float *params, *grad, *x, *g, *D, *dx;
  double *sigma;
  int have_dc, have_net, have_x, have_g, have_y;
} denoiser;

static void denoiser_destroy(denoiser *d, int failed) {
  if (d->have_y) {
    if (d->vjp_input > 0) H5Dclose(d->vjp_input);
    if (failed) pirf_dataset_discard(&d->ys);
  }
  if (d->have_g) pirf_dataset_close(&d->gs);
  if (d->have_x) pirf_dataset_close(&d->xs);
  pirf_unet_tape_destroy(&d->tape);
  pirf_unet_work_destroy(&d->work);
  if (d->have_net) pirf_unet_destroy(&d->net);
  if (d->have_dc) pirf_decomp_destroy(&d->dc);
  free(d->params), free(d->grad), free(d->x), free(d->g), free(d->D), free(d->dx), free(d->sigma);
  free(d->deck);
  pirf_config_destroy(&d->cfg);
}

/* /vjp/<name> for every tensor, PyTorch shapes: all ranks create (collective metadata), rank 0
 * writes the reduced gradient. */
static int write_param_vjp(hid_t file, const pirf_param_table *t, const float *grad) {
  int rank;
  PIRF_MPI(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
  hid_t grp = H5Gcreate2(file, "vjp", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  PIRF_H5(grp, "cannot create the group /vjp");
  int err = 0;
  for (int i = 0; i < t->n && !err; i++) {
    const pirf_param *p = &t->p[i];
    hsize_t dims[8];
    for (int k = 0; k < p->ndim; k++) dims[k] = (hsize_t)p->shape[k];
    hid_t space = H5Screate_simple(p->ndim, dims, NULL);
    hid_t dset = space < 0 ? -1
                           : H5Dcreate2(grp, p->name, H5T_IEEE_F32LE, space, H5P_DEFAULT,
                                        H5P_DEFAULT, H5P_DEFAULT);
    if (dset < 0) {
      if (space >= 0) H5Sclose(space);
      err = 1;
      break;
    }
    hid_t fspace = H5Dget_space(dset), mspace = H5Screate_simple(p->ndim, dims, NULL);
    if (rank != 0) H5Sselect_none(fspace), H5Sselect_none(mspace);
    hid_t dxpl = H5Pcreate(H5P_DATASET_XFER);
    H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE);
    if (H5Dwrite(dset, H5T_NATIVE_FLOAT, mspace, fspace, dxpl, grad + p->offset) < 0) err = 1;
    H5Pclose(dxpl), H5Sclose(mspace), H5Sclose(fspace), H5Sclose(space), H5Dclose(dset);
  }
  H5Gclose(grp);
  PIRF_CHECK(!err, "cannot write the parameter vector-Jacobian products to /vjp");
  return 0;
}

static int run(denoiser *d, const denoise_args *a) {
  PIRF_TRY(stored_deck(a->ckpt, &d->deck));
  PIRF_TRY(load_deck(d->deck, a, &d->cfg));
  pirf_config *cfg = d->cfg;
  pirf_log_set_level((int)pirf_cfg_int(cfg, "output.verbosity"));

  PIRF_TRY(pirf_dataset_open(&d->xs, MPI_COMM_WORLD, a->input, "denoise --input"));
  d->have_x = 1;
  const long N = d->xs.N;
  const int C = d->xs.C, H = d->xs.H, W = d->xs.W;
  PIRF_USER_CHECK(N >= 1, "denoise: '%s' holds no samples", a->input);
  int R, Cnet;
  if (*d->deck) {
    /* the network is the one the checkpoint was trained as: its grid and its PDE's channels */
    const pirf_pde *pde = pirf_pde_find(pirf_cfg_str(cfg, "pde.name"));
    PIRF_USER_CHECK(pde, "denoise: the checkpoint's deck names an unknown PDE '%s'",
                    pirf_cfg_str(cfg, "pde.name"));
    R = (int)pirf_cfg_int(cfg, "grid.resolution");
    Cnet = pde->channels;
    PIRF_USER_CHECK(C == Cnet && H == R && W == R,
                    "denoise: '%s' holds fields of %d channel%s at %dx%d, but the checkpoint '%s' "
                    "is a network for %d channel%s at %dx%d (its deck: pde.name = %s, "
                    "grid.resolution = %d); give input fields of that shape",
                    a->input, C, C == 1 ? "" : "s", H, W, a->ckpt, Cnet, Cnet == 1 ? "" : "s", R, R,
                    pirf_cfg_str(cfg, "pde.name"), R);
  } else {
    /* no stored deck (a checkpoint written by PyTorch): the input says what the network sees */
    PIRF_USER_CHECK(H == W, "denoise: '%s' holds %dx%d fields; the network needs square fields",
                    a->input, H, W);
    char res[64];
    snprintf(res, sizeof res, "%d", H);
    PIRF_TRY(pirf_config_set(cfg, "grid.resolution", res));
    R = H, Cnet = C;
    pirf_log("[denoise] '%s' stores no deck: a network for %d channels at %dx%d with the model.* "
             "keys of the command line (or their defaults)\n", a->ckpt, C, H, W);
  }
  if (a->cot) {
    PIRF_TRY(pirf_dataset_open(&d->gs, MPI_COMM_WORLD, a->cot, "denoise --cotangent"));
    d->have_g = 1;
    PIRF_USER_CHECK(d->gs.N == N && d->gs.C == C && d->gs.H == H && d->gs.W == W,
                    "denoise: the cotangent '%s' has shape (%ld, %d, %d, %d) but the input '%s' "
                    "has (%ld, %d, %d, %d); they must match", a->cot, d->gs.N, d->gs.C, d->gs.H,
                    d->gs.W, a->input, N, C, H, W);
  }

  PIRF_TRY(pirf_deck_decomp(cfg, MPI_COMM_WORLD, &d->dc));
  d->have_dc = 1;
  const pirf_decomp *dc = &d->dc;
  pirf_unet_config uc;
  PIRF_TRY(pirf_unet_config_from_deck(cfg, R, Cnet, &uc));
  PIRF_TRY(pirf_unet_create(&uc, &d->net));
  d->have_net = 1;
  const size_t P = d->net.table.total;
  PIRF_ALLOC(d->params, P, "the network weights");
  PIRF_TRY(pirf_checkpoint_read_weights(a->ckpt, MPI_COMM_WORLD, &d->net.table, a->weights,
                                        d->params));

  const int B = (int)a->batch;
  const size_t tile = (size_t)dc->xm * dc->ym, nb = (size_t)B * C * tile;
  PIRF_ALLOC(d->x, nb, "the input tiles");
  PIRF_ALLOC(d->D, nb, "the denoiser outputs");
  PIRF_ALLOC(d->sigma, B, "the noise levels");
  for (int b = 0; b < B; b++) d->sigma[b] = a->sigma;
  PIRF_TRY(pirf_unet_work_create(&d->net, dc, B, a->cot != NULL, &d->work));
  if (a->cot) {
    PIRF_ALLOC(d->g, nb, "the cotangent tiles");
    PIRF_ALLOC(d->dx, nb, "the input vector-Jacobian products");
    PIRF_ALLOC(d->grad, P, "the parameter vector-Jacobian products");
    PIRF_TRY(pirf_unet_tape_create(&d->net, dc, B, &d->tape));
  }

  PIRF_TRY(pirf_mkdir_parent(MPI_COMM_WORLD, a->output));
  PIRF_TRY(pirf_dataset_create(&d->ys, MPI_COMM_WORLD, a->output, N, C, H, W));
  d->have_y = 1;
  if (a->cot)
    PIRF_TRY(pirf_h5_create_fields(d->ys.file, "vjp_input", N, C, H, W, &d->vjp_input));

  pirf_log("[denoise] %s (/%s, %zu parameters): %ld sample%s of %dx%d, %d channel%s, sigma %g%s; "
           "%d data group%s x %d tile%s, batch %d\n", a->ckpt, a->weights, P, N, N == 1 ? "" : "s",
           H, W, C, C == 1 ? "" : "s", a->sigma, a->cot ? ", with vector-Jacobian products" : "",
           dc->ndata, dc->ndata == 1 ? "" : "s", dc->nspace, dc->nspace == 1 ? "" : "s", B);
  /* round r: data group g takes samples [(r ndata + g) B, ... + B); every rank joins every
   * collective read and write, with count 0 past the end */
  const long per_round = (long)B * dc->ndata, rounds = (N + per_round - 1) / per_round;
  for (long r = 0; r < rounds; r++) {
    const long first = (r * dc->ndata + dc->group) * B;
    const long count = first >= N ? 0 : (N - first < B ? N - first : B);
    pirf_tile_block blk = {count ? first : 0, count, dc->xs, dc->xm, dc->ys, dc->ym};
    PIRF_TRY(pirf_dataset_read(&d->xs, &blk, d->x));
    if (a->cot) PIRF_TRY(pirf_dataset_read(&d->gs, &blk, d->g));
    if (count > 0) {
      /* eval mode (no dropout): D is a deterministic function of x, sigma and the weights */
      PIRF_TRY(pirf_edm_denoise(&d->net, d->work, d->tape, d->params, d->x, d->sigma, (int)count,
                                NULL, d->D));
      if (a->cot) {
        memset(d->dx, 0, (size_t)count * C * tile * sizeof *d->dx);
        PIRF_TRY(pirf_edm_denoise_backward(&d->net, d->work, d->tape, d->params, d->g, d->grad, 0,
                                           d->net.table.n, d->dx));
      }
    }
    PIRF_TRY(pirf_dataset_write(&d->ys, &blk, d->D));
    if (a->cot) PIRF_TRY(pirf_h5_write_block(d->vjp_input, C, &blk, d->dx));
  }
  if (a->cot) {
    PIRF_TRY(pirf_unet_grad_allreduce(dc, d->grad, 0, P));
    PIRF_TRY(write_param_vjp(d->ys.file, &d->net.table, d->grad));
  }
  char *resolved = pirf_config_to_yaml(cfg);
  int err = pirf_attr_write_double(d->ys.file, "sigma", 1, &a->sigma);
  if (!err) err = pirf_attr_write_str(d->ys.file, "checkpoint", a->ckpt);
  if (!err) err = pirf_attr_write_str(d->ys.file, "weights", a->weights);
  if (!err && resolved) err = pirf_attr_write_str(d->ys.file, "deck", resolved);
  free(resolved);
  PIRF_TRY(err);
  if (d->vjp_input > 0) H5Dclose(d->vjp_input);
  d->vjp_input = 0;
  PIRF_TRY(pirf_dataset_commit(&d->ys));
  d->have_y = 0;
  pirf_log("[denoise] wrote %s\n", a->output);
  return 0;
}

int pirf_cmd_denoise(const char *deck, int nargs, char **args) {
  (void)deck; /* no deck: the checkpoint carries it */
  denoise_args a = {0};
  a.over = calloc((size_t)nargs + 1, sizeof *a.over);
  PIRF_CHECK(a.over, "out of memory");
  int err = parse_args(nargs, args, &a);
  denoiser d;
  memset(&d, 0, sizeof d);
  if (!err) err = run(&d, &a);
  denoiser_destroy(&d, err != 0);
  free(a.over);
  return err;
}
