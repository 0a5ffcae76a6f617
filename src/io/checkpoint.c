/* Checkpoints in HDF5, written and read in parallel, independent of the rank layout
 * (see pirf/checkpoint.h for the layout and the contract). */
#include "pirf/checkpoint.h"

#include "pirf/check.h"
#include "pirf/prof.h"
#include "pirf/dataset.h"
#include "pirf/run_record.h"

#include <errno.h>
#include <hdf5.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- a tensor's shape and the flat slices of it ------------------------------------------- */

static void shape_text(int ndim, const hsize_t *dims, char *buf, size_t len) {
  size_t k = (size_t)snprintf(buf, len, "(");
  for (int d = 0; d < ndim && k < len; d++)
    k += (size_t)snprintf(buf + k, len - k, "%s%llu", d ? ", " : "", (unsigned long long)dims[d]);
  if (k < len) snprintf(buf + k, len - k, "%s)", ndim == 1 ? "," : "");
}

static void param_dims(const pirf_param *p, hsize_t *dims) {
  for (int d = 0; d < p->ndim; d++) dims[d] = (hsize_t)p->shape[d];
}

/* Select the flattened (row-major) elements [a, b) of an ndim-dimensional data space. A flat range
 * is not one hyperslab, but it is a union of at most 2*ndim - 1 of them: walk from a, each time
 * taking the largest aligned block (whole rows, whole planes, ...) that still fits before b. */
static int select_flat_range(hid_t space, int ndim, const hsize_t *dims, hsize_t a, hsize_t b) {
  if (a >= b) {
    PIRF_H5(H5Sselect_none(space), "cannot select nothing");
    return 0;
  }
  hsize_t stride[4];
  stride[ndim - 1] = 1;
  for (int d = ndim - 2; d >= 0; d--) stride[d] = stride[d + 1] * dims[d + 1];
  H5S_seloper_t op = H5S_SELECT_SET;
  while (a < b) {
    int d = 0; /* the outermost dimension whose block is aligned at a and fits */
    while (d < ndim - 1 && (a % stride[d] != 0 || b - a < stride[d])) d++;
    hsize_t start[4], count[4];
    for (int e = 0; e < ndim; e++) {
      start[e] = (a / stride[e]) % dims[e];
      count[e] = e < d ? 1 : dims[e];
    }
    hsize_t room = dims[d] - start[d], want = (b - a) / stride[d];
    count[d] = want < room ? want : room;
    PIRF_H5(H5Sselect_hyperslab(space, op, start, NULL, count, NULL),
            "cannot select a block of a flattened tensor");
    op = H5S_SELECT_OR;
    a += count[d] * stride[d];
  }
  return 0;
}

/* Transfer the part of tensor p that lies in the arena slice [lo, hi): buf holds arena floats
 * [lo, hi), buf[0] being float lo. Independent MPI-IO: ranks with nothing to move do not call. */
static int transfer_part(hid_t dset, const pirf_param *p, size_t lo, size_t hi, float *buf,
                         int write) {
  size_t a = p->offset > lo ? p->offset : lo, b = p->offset + p->count < hi ? p->offset + p->count : hi;
  if (a >= b) return 0;
  hsize_t dims[4], n = (hsize_t)(b - a);
  param_dims(p, dims);
  hid_t fspace = H5Dget_space(dset);
  PIRF_H5(fspace, "cannot get the data space of '%s'", p->name);
  int err = select_flat_range(fspace, p->ndim, dims, a - p->offset, b - p->offset);
  hid_t mspace = H5Screate_simple(1, &n, NULL);
  herr_t st = -1;
  if (!err && mspace >= 0)
    st = write ? H5Dwrite(dset, H5T_NATIVE_FLOAT, mspace, fspace, H5P_DEFAULT, buf + (a - lo))
               : H5Dread(dset, H5T_NATIVE_FLOAT, mspace, fspace, H5P_DEFAULT, buf + (a - lo));
  if (mspace >= 0) H5Sclose(mspace);
  H5Sclose(fspace);
  PIRF_TRY(err);
  if (st < 0) {
    /* a local failure: noted for the agreement that follows (pirf/dataset.h), not printed */
    char name[PIRF_IO_MAX_PATH + 16];
    if (H5Fget_name(dset, name, sizeof name) < 0) name[0] = 0;
    pirf_io_note(name, "HDF5 %s of floats [%zu, %zu) of tensor '%s' failed",
                 write ? "write" : "read", a - p->offset, b - p->offset, p->name);
    return PIRF_ERR;
  }
  return 0;
}

/* The even split of [0, n) over the ranks used for the replicated arenas. */
static void even_slice(size_t n, int rank, int size, size_t *lo, size_t *hi) {
  size_t chunk = (n + (size_t)size - 1) / (size_t)size;
  *lo = (size_t)rank * chunk;
  *hi = *lo + chunk;
  if (*lo > n) *lo = n;
  if (*hi > n) *hi = n;
}

/* The tensors [t0, t1) that make up the moments' range; the range must be whole tensors. */
static int moment_tensors(const pirf_param_table *table, const pirf_checkpoint_moments *mo, int *t0,
                          int *t1) {
  *t0 = *t1 = -1;
  for (int i = 0; i < table->n; i++) {
    if (table->p[i].offset == mo->first) *t0 = i;
    if (table->p[i].offset + table->p[i].count == mo->first + mo->count) *t1 = i + 1;
  }
  PIRF_CHECK(*t0 >= 0 && *t1 > *t0,
             "the optimizer's range [%zu, %zu) does not start and end at tensor boundaries of the "
             "parameter table; layer-wise truncation must train whole tensors",
             mo->first, mo->first + mo->count);
  PIRF_CHECK(mo->lo >= mo->first && mo->lo + mo->n <= mo->first + mo->count,
             "this rank's optimizer slice [%zu, %zu) is outside the range [%zu, %zu)", mo->lo,
             mo->lo + mo->n, mo->first, mo->first + mo->count);
  return 0;
}

/* ---- attributes not covered by pirf/dataset.h ---------------------------------------------- */

static int attr_write_u64(hid_t loc, const char *name, int n, const uint64_t *values) {
  hsize_t dims = (hsize_t)n;
  hid_t space = H5Screate_simple(1, &dims, NULL);
  PIRF_H5(space, "cannot create the data space of attribute '%s'", name);
  hid_t attr = H5Acreate2(loc, name, H5T_STD_U64LE, space, H5P_DEFAULT, H5P_DEFAULT);
  H5Sclose(space);
  PIRF_H5(attr, "cannot create attribute '%s'", name);
  herr_t st = H5Awrite(attr, H5T_NATIVE_UINT64, values);
  H5Aclose(attr);
  PIRF_H5(st, "cannot write attribute '%s'", name);
  return 0;
}

static int attr_read_u64(hid_t loc, const char *name, int n, uint64_t *values, const char *path) {
  PIRF_USER_CHECK(H5Aexists(loc, name) > 0,
                  "'%s' has no attribute '%s'; is it a pirf checkpoint (format version %d)?", path,
                  name, PIRF_CHECKPOINT_VERSION);
  hid_t attr = H5Aopen(loc, name, H5P_DEFAULT);
  PIRF_H5(attr, "cannot open attribute '%s' of '%s'", name, path);
  hid_t space = H5Aget_space(attr);
  hssize_t npts = H5Sget_simple_extent_npoints(space);
  H5Sclose(space);
  herr_t st = npts == n ? H5Aread(attr, H5T_NATIVE_UINT64, values) : 0;
  H5Aclose(attr);
  PIRF_USER_CHECK(npts == n, "attribute '%s' of '%s' has %lld values, expected %d", name, path,
                  (long long)npts, n);
  PIRF_H5(st, "cannot read attribute '%s' of '%s'", name, path);
  return 0;
}

/* ---- writing ------------------------------------------------------------------------------- */

/* Group /gname with the tensors [t0, t1) of the table; this rank writes arena floats [lo, hi)
 * from buf (buf[0] = float lo). */
static int write_group(hid_t file, const char *gname, const pirf_param_table *table, int t0, int t1,
                       size_t lo, size_t hi, const float *buf, hid_t *group_out) {
  hid_t group = H5Gcreate2(file, gname, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  PIRF_H5(group, "cannot create group /%s", gname);
  /* Every byte gets written by some rank: skip HDF5's fill pass over the data. */
  hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  PIRF_H5(dcpl, "cannot create a data set property list");
  PIRF_H5(H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER), "cannot set the fill time");
  /* A failed transfer (independent I/O: this rank's only) does not stop the loop: the data set
   * creations that follow are collective and every rank must make them. Later transfers are
   * skipped; the caller agrees on the failure. */
  int err = 0, create_err = 0;
  for (int i = t0; i < t1 && !create_err; i++) {
    const pirf_param *p = &table->p[i];
    hsize_t dims[4];
    param_dims(p, dims);
    hid_t space = H5Screate_simple(p->ndim, dims, NULL);
    hid_t dset = space < 0 ? -1
                           : H5Dcreate2(group, p->name, H5T_IEEE_F32LE, space, H5P_DEFAULT, dcpl,
                                        H5P_DEFAULT);
    if (space >= 0) H5Sclose(space);
    if (dset < 0) {
      pirf_io_note(NULL, "cannot create data set /%s/%s", gname, p->name);
      create_err = PIRF_ERR;
      break;
    }
    if (!err) err = transfer_part(dset, p, lo, hi, (float *)buf, 1);
    H5Dclose(dset);
  }
  if (create_err) err = create_err;
  H5Pclose(dcpl);
  /* the group goes back even after a local transfer failure: its attributes are collective too */
  if (create_err || !group_out) H5Gclose(group);
  else *group_out = group;
  return err;
}

static int write_body(hid_t file, MPI_Comm comm, const pirf_param_table *table,
                      const pirf_checkpoint *ck, const char *deck) {
  int rank, size;
  PIRF_MPI(MPI_Comm_rank(comm, &rank));
  PIRF_MPI(MPI_Comm_size(comm, &size));
  PIRF_TRY(pirf_attr_write_long(file, "format_version", PIRF_CHECKPOINT_VERSION));
  PIRF_TRY(pirf_attr_write_str(file, "kind", "pirf checkpoint"));
  PIRF_TRY(pirf_attr_write_long(file, "step", ck->step));
  PIRF_TRY(pirf_attr_write_long(file, "n_img", ck->n_img));
  PIRF_TRY(attr_write_u64(file, "rng_counters", PIRF_CKPT_NRNG, ck->rng));
  PIRF_TRY(pirf_attr_write_str(file, "deck", deck ? deck : ""));
  PIRF_TRY(pirf_run_record_write(file)); /* command line, layout, host, build, provenance */
  /* what the file is for, checked when it is read (pirf_io_check_identity) */
  if (pirf_io_expected_pde()) PIRF_TRY(pirf_attr_write_str(file, "pde", pirf_io_expected_pde()));
  if (pirf_io_expected_channels())
    PIRF_TRY(pirf_attr_write_str(file, "channel_names", pirf_io_expected_channels()));

  size_t lo, hi;
  even_slice(table->total, rank, size, &lo, &hi);
  const char *names[3] = {"net", "ema", "ref"};
  const float *arenas[3] = {ck->net, ck->ema, ck->ref};
  /* a local failure in one group does not skip the (collective) creation of the next ones */
  int err = 0;
  for (int g = 0; g < 3; g++)
    if (arenas[g]) {
      int e = write_group(file, names[g], table, 0, table->n, lo, hi, arenas[g] + lo, NULL);
      if (!err) err = e;
    }

  const pirf_checkpoint_moments *mo = &ck->moments;
  if (mo->m) {
    int t0, t1;
    PIRF_TRY(moment_tensors(table, mo, &t0, &t1));
    hid_t gm = -1;
    int e = write_group(file, "adam_m", table, t0, t1, mo->lo, mo->lo + mo->n, mo->m, &gm);
    if (!err) err = e;
    if (gm >= 0) {
      e = pirf_attr_write_long(gm, "step", mo->t ? *mo->t : 0);
      H5Gclose(gm);
      if (!err) err = e;
    }
    e = write_group(file, "adam_v", table, t0, t1, mo->lo, mo->lo + mo->n, mo->v, NULL);
    if (!err) err = e;
  }
  return err;
}

static int checkpoint_write(const char *path, MPI_Comm comm, const pirf_param_table *table,
                            const pirf_checkpoint *ck, const char *deck) {
  pirf_io_init();
  PIRF_CHECK(ck->net, "a checkpoint needs the network weights (ck->net is NULL)");
  PIRF_CHECK(table->total <= INT_MAX, "the parameter arena is too large for one MPI collective");
  PIRF_TRY(pirf_io_check_output_path(comm, path, "checkpoint"));
  char partial[PIRF_IO_MAX_PATH + 16];
  snprintf(partial, sizeof partial, "%s.partial", path);
  int rank;
  PIRF_MPI(MPI_Comm_rank(comm, &rank));
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  PIRF_H5(fapl, "cannot create a file access property list");
  PIRF_H5(H5Pset_fapl_mpio(fapl, comm, MPI_INFO_NULL), "cannot set up MPI-IO file access");
  hid_t file = H5Fcreate(partial, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  H5Pclose(fapl);
  if (file < 0) pirf_io_note(NULL, "%s", pirf_io_create_failure(partial));
  if (pirf_io_agree(comm, file < 0 ? PIRF_ERR : 0)) {
    if (file >= 0) H5Fclose(file);
    if (rank == 0) unlink(partial);
    return PIRF_IO_FAIL(comm, PIRF_ERR_USER, "cannot create the checkpoint '%s': check that its "
                        "directory exists and is writable", partial);
  }
  /* The space first: the floats of every group, 1 KiB of metadata per data set, the deck. */
  const pirf_checkpoint_moments *mo = &ck->moments;
  double bytes = 65536.0 + (deck ? (double)strlen(deck) : 0.0);
  int ngroups = (ck->net != NULL) + (ck->ema != NULL) + (ck->ref != NULL);
  bytes += ngroups * ((double)table->total * sizeof(float) + 1024.0 * table->n);
  if (mo->m) bytes += 2.0 * ((double)mo->count * sizeof(float) + 1024.0 * table->n);
  if (pirf_io_agree(comm, pirf_io_reserve(comm, partial, bytes))) {
    pirf_io_close(comm, file, partial, PIRF_ERR);
    return PIRF_IO_FAIL(comm, PIRF_ERR, "cannot write the checkpoint '%s' (the previous one, if "
                        "any, is untouched)", path);
  }
  /* Every rank reaches the close whatever failed on it (write_body keeps the collective calls
   * going); pirf_io_close agrees: all remove the .partial and report, or all commit. */
  int err = write_body(file, comm, table, ck, deck);
  if (pirf_io_close(comm, file, partial, err))
    return PIRF_IO_FAIL(comm, PIRF_ERR, "cannot write the checkpoint '%s' (the previous one, if "
                        "any, is untouched)", path);
  /* The rename is the commit: a reader sees either the old complete file or the new one. */
  int rename_err = 0;
  if (rank == 0 && rename(partial, path) != 0) {
    rename_err = errno;
    unlink(partial);
  }
  PIRF_MPI(MPI_Bcast(&rename_err, 1, MPI_INT, 0, comm));
  PIRF_USER_CHECK(!rename_err, "cannot rename '%s' to '%s': %s", partial, path,
                  strerror(rename_err));
  return 0;
}

/* ---- reading ------------------------------------------------------------------------------- */

static int name_in(const pirf_param_table *table, int t0, int t1, const char *name) {
  for (int i = t0; i < t1; i++)
    if (!strcmp(table->p[i].name, name)) return 1;
  return 0;
}

/* Open /gname and check it holds exactly the tensors [t0, t1) with their shapes; then read this
 * rank's arena floats [lo, hi) into buf. Every rank makes the same checks on the same metadata, so
 * the verdict is collective. */
static int read_group(hid_t file, const char *path, const char *gname,
                      const pirf_param_table *table, int t0, int t1, size_t lo, size_t hi,
                      float *buf, hid_t *group_out) {
  const char *hint = "check the model.* keys (channels, channel_mult, num_blocks, "
                     "attn_resolutions) and the PDE's channels against the deck stored in the "
                     "checkpoint (attribute 'deck')";
  PIRF_USER_CHECK(H5Lexists(file, gname, H5P_DEFAULT) > 0,
                  "the checkpoint '%s' has no group /%s%s", path, gname,
                  strncmp(gname, "adam", 4) ? ""
                                            : " (it holds no optimizer state: was it written "
                                              "without an optimizer, or is it a pretrained model?)");
  hid_t group = H5Gopen2(file, gname, H5P_DEFAULT);
  PIRF_H5(group, "cannot open group /%s of '%s'", gname, path);
  /* a local read failure (independent I/O) skips this rank's later transfers but not the checks,
   * which every rank makes alike; the caller agrees on the failure */
  int err = 0;
  for (int i = t0; i < t1; i++) {
    const pirf_param *p = &table->p[i];
    hsize_t want[4], have[H5S_MAX_RANK];
    char want_s[96], have_s[96];
    param_dims(p, want);
    shape_text(p->ndim, want, want_s, sizeof want_s);
    if (H5Lexists(group, p->name, H5P_DEFAULT) <= 0) {
      H5Gclose(group);
      PIRF_USER_CHECK(0, "the checkpoint was written for a different model configuration: '%s' "
                      "has no tensor /%s/%s (this model's tensor has shape %s); %s", path, gname,
                      p->name, want_s, hint);
    }
    hid_t dset = H5Dopen2(group, p->name, H5P_DEFAULT);
    if (dset < 0) {
      H5Gclose(group);
      PIRF_H5(dset, "cannot open /%s/%s in '%s'", gname, p->name, path);
    }
    hid_t space = H5Dget_space(dset), type = H5Dget_type(dset);
    int nd = H5Sget_simple_extent_ndims(space);
    if (nd > 0 && nd <= H5S_MAX_RANK) H5Sget_simple_extent_dims(space, have, NULL);
    int is_float = H5Tget_class(type) == H5T_FLOAT;
    H5Sclose(space);
    H5Tclose(type);
    int same = nd == p->ndim;
    for (int d = 0; same && d < nd; d++) same = have[d] == want[d];
    if (!same || !is_float) {
      H5Dclose(dset);
      H5Gclose(group);
      if (nd >= 0 && nd <= H5S_MAX_RANK) shape_text(nd, have, have_s, sizeof have_s);
      else snprintf(have_s, sizeof have_s, "(unreadable)");
      PIRF_USER_CHECK(is_float, "tensor /%s/%s in '%s' is not floating point", gname, p->name, path);
      PIRF_USER_CHECK(0, "the checkpoint was written for a different model configuration: tensor "
                      "'%s' has shape %s in '%s' (/%s) but this model expects %s; %s", p->name,
                      have_s, path, gname, want_s, hint);
    }
    if (!err) err = transfer_part(dset, p, lo, hi, buf, 0);
    H5Dclose(dset);
  }
  {
    /* Every expected tensor is there; anything more means a different network. */
    H5G_info_t info;
    if (H5Gget_info(group, &info) < 0) {
      H5Gclose(group);
      PIRF_USER_CHECK(0, "cannot list group /%s of '%s' (damaged?)", gname, path);
    } else if (info.nlinks != (hsize_t)(t1 - t0)) {
      char extra[PIRF_PARAM_NAME + 8] = "?";
      for (hsize_t k = 0; k < info.nlinks; k++) {
        char nm[PIRF_PARAM_NAME + 8] = "";
        H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, k, nm, sizeof nm, H5P_DEFAULT);
        if (!name_in(table, t0, t1, nm)) {
          snprintf(extra, sizeof extra, "%s", nm);
          break;
        }
      }
      H5Gclose(group);
      /* a state_dict of EDM's SongUNet written as it is: name the cause, not the model keys */
      const size_t ln = strlen(extra), ls = strlen(".resample_filter");
      PIRF_USER_CHECK(ln <= ls || strcmp(extra + ln - ls, ".resample_filter") != 0,
                      "/%s in '%s' holds EDM's resample_filter buffers (for example '%s'): pirf "
                      "builds that fixed [1, 1] filter itself and does not store it; convert the "
                      "file with postprocess/import_edm.py, which checks and drops them",
                      gname, path, extra);
      PIRF_USER_CHECK(0, "the checkpoint was written for a different %s: /%s in '%s' holds %llu "
                      "tensors where this run expects %d, for example '%s', which %s; %s",
                      strncmp(gname, "adam", 4) ? "model configuration" : "trainable range",
                      gname, path, (unsigned long long)info.nlinks, t1 - t0, extra,
                      strncmp(gname, "adam", 4) ? "this model does not have"
                                                : "this run does not train",
                      strncmp(gname, "adam", 4) ? hint
                                                : "check the layer-wise truncation settings "
                                                  "against the deck stored in the checkpoint");
    }
  }
  if (!group_out) H5Gclose(group);
  else *group_out = group;
  return err;
}

/* After a read that may have failed on some ranks only: agree, and make it one user error. */
static int agree_read(MPI_Comm comm, int err, const char *path) {
  if (err == PIRF_ERR_USER) return err; /* the checks are collective: every rank has it */
  if (pirf_io_agree(comm, err))
    return PIRF_IO_FAIL(comm, PIRF_ERR_USER, "cannot read the checkpoint '%s' (damaged or "
                        "truncated?)", path);
  return 0;
}

/* Every float of the tensors [t0, t1) of an arena slice [lo, lo + n) finite; otherwise the first
 * tensor holding a non-finite value, over all ranks, is named (a user error). */
static int check_finite(MPI_Comm comm, const pirf_param_table *table, int t0, int t1, size_t lo,
                        size_t n, const float *buf, const char *gname, const char *path) {
  int bad = table->n; /* the first tensor with a non-finite value */
  size_t where = 0;
  for (size_t i = 0; i < n; i++)
    if (!isfinite(buf[i])) {
      for (int t = t0; t < t1; t++)
        if (lo + i >= table->p[t].offset && lo + i < table->p[t].offset + table->p[t].count) {
          bad = t;
          where = lo + i - table->p[t].offset;
          break;
        }
      break;
    }
  int first = bad;
  PIRF_MPI(MPI_Allreduce(MPI_IN_PLACE, &first, 1, MPI_INT, MPI_MIN, comm));
  if (first == table->n) return 0;
  int rank, size;
  PIRF_MPI(MPI_Comm_rank(comm, &rank));
  PIRF_MPI(MPI_Comm_size(comm, &size));
  int owner = bad == first ? rank : size;
  PIRF_MPI(MPI_Allreduce(MPI_IN_PLACE, &owner, 1, MPI_INT, MPI_MIN, comm));
  unsigned long long at = where;
  PIRF_MPI(MPI_Bcast(&at, 1, MPI_UNSIGNED_LONG_LONG, owner, comm));
  PIRF_USER_CHECK(0, "the checkpoint '%s' holds a non-finite weight in tensor /%s/%s (element %llu "
                  "of %zu); it comes from a run that diverged or is damaged: use an earlier "
                  "checkpoint", path, gname, table->p[first].name, at, table->p[first].count);
  return 0;
}

/* Read a replicated arena: each rank reads its even slice, then the slices are allgathered. */
static int read_arena(hid_t file, const char *path, MPI_Comm comm, const pirf_param_table *table,
                      const char *gname, float *arena) {
  int rank, size;
  PIRF_MPI(MPI_Comm_rank(comm, &rank));
  PIRF_MPI(MPI_Comm_size(comm, &size));
  PIRF_CHECK(table->total <= INT_MAX, "the parameter arena is too large for one MPI collective");
  size_t lo, hi;
  even_slice(table->total, rank, size, &lo, &hi);
  PIRF_TRY(agree_read(comm, read_group(file, path, gname, table, 0, table->n, lo, hi, arena + lo,
                                        NULL), path));
  int *counts, *displs;
  PIRF_ALLOC(counts, size, "slice counts");
  PIRF_ALLOC(displs, size, "slice offsets");
  for (int r = 0; r < size; r++) {
    size_t a, b;
    even_slice(table->total, r, size, &a, &b);
    displs[r] = (int)a;
    counts[r] = (int)(b - a);
  }
  int st = MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, arena, counts, displs, MPI_FLOAT,
                          comm);
  free(counts);
  free(displs);
  PIRF_MPI(st);
  /* every rank holds the whole arena: the same verdict everywhere, checked on this rank's slice */
  PIRF_TRY(check_finite(comm, table, 0, table->n, lo, hi - lo, arena + lo, gname, path));
  return 0;
}

/* pde.name from the resolved deck stored in a checkpoint (the "pde:" section's "  name:" line). */
static void deck_pde(const char *deck, char *buf, size_t len) {
  buf[0] = 0;
  const char *sec = deck;
  while (sec && (sec = strstr(sec, "pde:\n")) && sec != deck && sec[-1] != '\n') sec += 4;
  if (!sec) return;
  const char *name = strstr(sec, "\n  name: ");
  if (!name) return;
  name += strlen("\n  name: ");
  size_t n = strcspn(name, " \n#");
  snprintf(buf, len, "%.*s", (int)(n < len - 1 ? n : len - 1), name);
}

/* What the file says it is: its format version (when present; a full resume requires it), and
 * the PDE and channels it was trained for (attributes pde and channel_names, or pde.name of the
 * stored deck for files written before those attributes) against the deck's. */
static int check_identity(hid_t file, const char *path, int need_version) {
  PIRF_USER_CHECK(!need_version || pirf_attr_exists(file, "format_version"),
                  "'%s' has no attribute 'format_version'; it is not a pirf checkpoint", path);
  if (pirf_attr_exists(file, "format_version")) {
    long version = 0;
    hid_t attr = H5Aopen(file, "format_version", H5P_DEFAULT);
    hid_t type = attr < 0 ? -1 : H5Aget_type(attr);
    int is_int = type >= 0 && H5Tget_class(type) == H5T_INTEGER;
    if (type >= 0) H5Tclose(type);
    herr_t st = is_int ? H5Aread(attr, H5T_NATIVE_LONG, &version) : -1;
    if (attr >= 0) H5Aclose(attr);
    PIRF_USER_CHECK(st >= 0, "the attribute 'format_version' of '%s' is not an integer", path);
    PIRF_USER_CHECK(version >= 1 && version <= PIRF_CHECKPOINT_VERSION,
                    "the checkpoint '%s' has format version %ld; this pirf reads versions 1 to %d",
                    path, version, PIRF_CHECKPOINT_VERSION);
  }
  char pde[64] = "", channels[256] = "";
  char *v = NULL;
  if (pirf_attr_exists(file, "pde") && pirf_attr_read_str(file, "pde", &v) == 0 && v)
    snprintf(pde, sizeof pde, "%s", v);
  free(v);
  v = NULL;
  if (!pde[0] && pirf_attr_exists(file, "deck") && pirf_attr_read_str(file, "deck", &v) == 0 && v)
    deck_pde(v, pde, sizeof pde);
  free(v);
  v = NULL;
  if (pirf_attr_exists(file, "channel_names") &&
      pirf_attr_read_str(file, "channel_names", &v) == 0 && v)
    snprintf(channels, sizeof channels, "%s", v);
  free(v);
  return pirf_io_check_identity(path, "checkpoint", pde, channels);
}

static int open_for_reading(const char *path, MPI_Comm comm, hid_t *file) {
  pirf_io_init();
  int missing = access(path, R_OK) != 0, why = errno;
  int any_missing = 0;
  PIRF_MPI(MPI_Allreduce(&missing, &any_missing, 1, MPI_INT, MPI_MAX, comm));
  PIRF_USER_CHECK(!any_missing, "cannot read the checkpoint '%s' (%s); check the path", path,
                  missing ? strerror(why) : "not visible from every rank");
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  PIRF_H5(fapl, "cannot create a file access property list");
  PIRF_H5(H5Pset_fapl_mpio(fapl, comm, MPI_INFO_NULL), "cannot set up MPI-IO file access");
  *file = H5Fopen(path, H5F_ACC_RDONLY, fapl);
  H5Pclose(fapl);
  int bad = *file < 0;
  PIRF_MPI(MPI_Allreduce(MPI_IN_PLACE, &bad, 1, MPI_INT, MPI_MAX, comm));
  if (bad && *file >= 0) H5Fclose(*file);
  PIRF_USER_CHECK(!bad, "'%s' is not an HDF5 file (or is damaged or truncated)", path);
  return 0;
}

static int read_body(hid_t file, const char *path, MPI_Comm comm, const pirf_param_table *table,
                     pirf_checkpoint *ck, char **deck) {
  PIRF_TRY(check_identity(file, path, 1));
  PIRF_TRY(pirf_attr_read_long(file, "step", &ck->step));
  PIRF_TRY(pirf_attr_read_long(file, "n_img", &ck->n_img));
  PIRF_TRY(attr_read_u64(file, "rng_counters", PIRF_CKPT_NRNG, ck->rng, path));
  if (deck) PIRF_TRY(pirf_attr_read_str(file, "deck", deck));

  const char *names[3] = {"net", "ema", "ref"};
  float *arenas[3] = {ck->net, ck->ema, ck->ref};
  for (int g = 0; g < 3; g++)
    if (arenas[g]) PIRF_TRY(read_arena(file, path, comm, table, names[g], arenas[g]));

  pirf_checkpoint_moments *mo = &ck->moments;
  if (mo->m) {
    int t0, t1;
    PIRF_TRY(moment_tensors(table, mo, &t0, &t1));
    hid_t gm = -1;
    int err = read_group(file, path, "adam_m", table, t0, t1, mo->lo, mo->lo + mo->n, mo->m, &gm);
    long t = 0;
    if (err != PIRF_ERR_USER) {
      int e = pirf_attr_read_long(gm, "step", &t);
      H5Gclose(gm);
      PIRF_TRY(e); /* metadata: the same on every rank */
    }
    PIRF_TRY(agree_read(comm, err, path));
    if (mo->t) *mo->t = t;
    PIRF_TRY(agree_read(comm, read_group(file, path, "adam_v", table, t0, t1, mo->lo,
                                         mo->lo + mo->n, mo->v, NULL), path));
    PIRF_TRY(check_finite(comm, table, t0, t1, mo->lo, mo->n, mo->m, "adam_m", path));
    PIRF_TRY(check_finite(comm, table, t0, t1, mo->lo, mo->n, mo->v, "adam_v", path));
  }
  return 0;
}

static int checkpoint_read(const char *path, MPI_Comm comm, const pirf_param_table *table,
                           pirf_checkpoint *ck, char **deck) {
  if (deck) *deck = NULL;
  hid_t file;
  PIRF_TRY(open_for_reading(path, comm, &file));
  int err = read_body(file, path, comm, table, ck, deck);
  H5Fclose(file);
  if (err && deck && *deck) {
    free(*deck);
    *deck = NULL;
  }
  PIRF_TRY(err);
  return 0;
}

static int checkpoint_read_weights(const char *path, MPI_Comm comm,
                                   const pirf_param_table *table, const char *group,
                                   float *arena) {
  hid_t file;
  PIRF_TRY(open_for_reading(path, comm, &file));
  int err = check_identity(file, path, 0);
  if (!err) err = read_arena(file, path, comm, table, group, arena);
  H5Fclose(file);
  PIRF_TRY(err);
  return 0;
}

/* ---- the public entry points: one profiling event each ------------------------------------- */

int pirf_checkpoint_write(const char *path, MPI_Comm comm, const pirf_param_table *table,
                          const pirf_checkpoint *ck, const char *deck) {
  pirf_prof_begin(PIRF_EV_CHECKPOINT_WRITE);
  const int err = checkpoint_write(path, comm, table, ck, deck);
  pirf_prof_end(PIRF_EV_CHECKPOINT_WRITE, 0);
  return err;
}

int pirf_checkpoint_read(const char *path, MPI_Comm comm, const pirf_param_table *table,
                         pirf_checkpoint *ck, char **deck) {
  pirf_prof_begin(PIRF_EV_CHECKPOINT_READ);
  const int err = checkpoint_read(path, comm, table, ck, deck);
  pirf_prof_end(PIRF_EV_CHECKPOINT_READ, 0);
  return err;
}

int pirf_checkpoint_read_weights(const char *path, MPI_Comm comm, const pirf_param_table *table,
                                 const char *group, float *arena) {
  pirf_prof_begin(PIRF_EV_CHECKPOINT_READ);
  const int err = checkpoint_read_weights(path, comm, table, group, arena);
  pirf_prof_end(PIRF_EV_CHECKPOINT_READ, 0);
  return err;
}
