/* HDF5 field files written and read collectively (see pirf/dataset.h). */
#include "pirf/dataset.h"

#include "pirf/check.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static hid_t mpio_fapl(MPI_Comm comm) {
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  if (fapl < 0) return fapl;
  if (H5Pset_fapl_mpio(fapl, comm, MPI_INFO_NULL) < 0) {
    H5Pclose(fapl);
    return -1;
  }
  return fapl;
}

int pirf_h5_create_fields(hid_t file, const char *name, long N, int C, int H, int W, hid_t *dset) {
  hsize_t dims[4] = {(hsize_t)N, (hsize_t)C, (hsize_t)H, (hsize_t)W};
  hid_t space = H5Screate_simple(4, dims, NULL);
  PIRF_H5(space, "cannot create the dataspace for '%s'", name);
  *dset = H5Dcreate2(file, name, H5T_NATIVE_FLOAT, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  H5Sclose(space);
  PIRF_H5(*dset, "cannot create data set '%s' (N=%ld, C=%d, %dx%d)", name, N, C, H, W);
  return 0;
}

/* Select the block in the file and a matching memory space (both empty when count = 0). */
static int select_block(hid_t dset, int C, const pirf_tile_block *b, hid_t *fspace, hid_t *mspace) {
  *fspace = H5Dget_space(dset);
  PIRF_H5(*fspace, "cannot get the file dataspace");
  if (b->count == 0 || b->xm == 0 || b->ym == 0) {
    hsize_t one = 1;
    PIRF_H5(H5Sselect_none(*fspace), "cannot select nothing");
    *mspace = H5Screate_simple(1, &one, NULL);
    PIRF_H5(*mspace, "cannot create a memory dataspace");
    PIRF_H5(H5Sselect_none(*mspace), "cannot select nothing");
    return 0;
  }
  hsize_t start[4] = {(hsize_t)b->first, 0, (hsize_t)b->ys, (hsize_t)b->xs};
  hsize_t count[4] = {(hsize_t)b->count, (hsize_t)C, (hsize_t)b->ym, (hsize_t)b->xm};
  PIRF_H5(H5Sselect_hyperslab(*fspace, H5S_SELECT_SET, start, NULL, count, NULL),
          "cannot select samples [%ld, %ld) rows [%d, %d) columns [%d, %d)", b->first,
          b->first + b->count, b->ys, b->ys + b->ym, b->xs, b->xs + b->xm);
  *mspace = H5Screate_simple(4, count, NULL);
  PIRF_H5(*mspace, "cannot create a memory dataspace");
  return 0;
}

static int transfer_block(hid_t dset, int C, const pirf_tile_block *b, float *data, int write) {
  hid_t fspace, mspace;
  PIRF_TRY(select_block(dset, C, b, &fspace, &mspace));
  hid_t dxpl = H5Pcreate(H5P_DATASET_XFER);
  PIRF_H5(dxpl, "cannot create a transfer property list");
  PIRF_H5(H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE), "cannot request collective I/O");
  herr_t st = write ? H5Dwrite(dset, H5T_NATIVE_FLOAT, mspace, fspace, dxpl, data)
                    : H5Dread(dset, H5T_NATIVE_FLOAT, mspace, fspace, dxpl, data);
  H5Pclose(dxpl);
  H5Sclose(mspace);
  H5Sclose(fspace);
  PIRF_H5(st, "HDF5 %s of samples [%ld, %ld) failed", write ? "write" : "read", b->first,
          b->first + b->count);
  return 0;
}

int pirf_h5_write_block(hid_t dset, int C, const pirf_tile_block *b, const float *data) {
  return transfer_block(dset, C, b, (float *)data, 1);
}

int pirf_h5_read_block(hid_t dset, int C, const pirf_tile_block *b, float *data) {
  return transfer_block(dset, C, b, data, 0);
}

int pirf_h5_write_vector(hid_t file, const char *name, long n, const double *values) {
  hsize_t dims = (hsize_t)n;
  hid_t space = H5Screate_simple(1, &dims, NULL);
  PIRF_H5(space, "cannot create the dataspace for '%s'", name);
  hid_t dset = H5Dcreate2(file, name, H5T_NATIVE_DOUBLE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  PIRF_H5(dset, "cannot create data set '%s'", name);
  int rank;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  hid_t fspace = H5Dget_space(dset);
  hid_t mspace = H5Screate_simple(1, &dims, NULL);
  if (rank != 0) {
    H5Sselect_none(fspace);
    H5Sselect_none(mspace);
  }
  hid_t dxpl = H5Pcreate(H5P_DATASET_XFER);
  H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE);
  herr_t st = H5Dwrite(dset, H5T_NATIVE_DOUBLE, mspace, fspace, dxpl, values);
  H5Pclose(dxpl);
  H5Sclose(mspace);
  H5Sclose(fspace);
  H5Sclose(space);
  H5Dclose(dset);
  PIRF_H5(st, "cannot write data set '%s'", name);
  return 0;
}

int pirf_dataset_create(pirf_dataset *ds, MPI_Comm comm, const char *path, long N, int C, int H,
                        int W) {
  memset(ds, 0, sizeof *ds);
  ds->comm = comm;
  ds->N = N;
  ds->C = C;
  ds->H = H;
  ds->W = W;
  ds->writing = 1;
  snprintf(ds->path, sizeof ds->path, "%s", path);
  snprintf(ds->partial, sizeof ds->partial, "%s.partial", path);
  hid_t fapl = mpio_fapl(comm);
  PIRF_H5(fapl, "cannot set up MPI-IO file access");
  ds->file = H5Fcreate(ds->partial, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  H5Pclose(fapl);
  PIRF_H5(ds->file, "cannot create '%s': check that its directory exists and is writable",
          ds->partial);
  PIRF_TRY(pirf_h5_create_fields(ds->file, "fields", N, C, H, W, &ds->fields));
  PIRF_TRY(pirf_attr_write_long(ds->file, "format_version", PIRF_FORMAT_VERSION));
  return 0;
}

int pirf_dataset_write(pirf_dataset *ds, const pirf_tile_block *b, const float *data) {
  return pirf_h5_write_block(ds->fields, ds->C, b, data);
}

int pirf_dataset_commit(pirf_dataset *ds) {
  PIRF_H5(H5Dclose(ds->fields), "cannot close /fields of '%s'", ds->partial);
  PIRF_H5(H5Fclose(ds->file), "cannot close '%s'", ds->partial);
  ds->file = ds->fields = 0;
  int rank, err = 0;
  MPI_Comm_rank(ds->comm, &rank);
  if (rank == 0 && rename(ds->partial, ds->path) != 0) err = errno;
  PIRF_MPI(MPI_Bcast(&err, 1, MPI_INT, 0, ds->comm));
  PIRF_CHECK(!err, "cannot rename '%s' to '%s': %s", ds->partial, ds->path, strerror(err));
  return 0;
}

void pirf_dataset_discard(pirf_dataset *ds) {
  if (ds->fields > 0) H5Dclose(ds->fields);
  if (ds->file > 0) H5Fclose(ds->file);
  ds->file = ds->fields = 0;
  int rank;
  MPI_Comm_rank(ds->comm, &rank);
  if (rank == 0 && ds->writing) unlink(ds->partial);
}

int pirf_dataset_open(pirf_dataset *ds, MPI_Comm comm, const char *path, const char *what) {
  memset(ds, 0, sizeof *ds);
  ds->comm = comm;
  snprintf(ds->path, sizeof ds->path, "%s", path);
  int missing = access(path, R_OK) != 0;
  PIRF_USER_CHECK(!missing, "%s: cannot read the file '%s' (%s). Generate it first with "
                  "`pirf generate DECK` or correct the path", what, path, strerror(errno));
  hid_t fapl = mpio_fapl(comm);
  PIRF_H5(fapl, "cannot set up MPI-IO file access");
  H5E_BEGIN_TRY { ds->file = H5Fopen(path, H5F_ACC_RDONLY, fapl); }
  H5E_END_TRY;
  H5Pclose(fapl);
  PIRF_USER_CHECK(ds->file >= 0, "%s: '%s' is not an HDF5 file (or is damaged)", what, path);
  int has = H5Lexists(ds->file, "fields", H5P_DEFAULT) > 0;
  if (!has) {
    H5Fclose(ds->file);
    PIRF_USER_CHECK(0, "%s: '%s' has no data set /fields; is it a pirf data file?", what, path);
  }
  ds->fields = H5Dopen2(ds->file, "fields", H5P_DEFAULT);
  PIRF_H5(ds->fields, "%s: cannot open /fields in '%s'", what, path);
  hid_t space = H5Dget_space(ds->fields);
  hid_t type = H5Dget_type(ds->fields);
  int nd = H5Sget_simple_extent_ndims(space);
  hsize_t dims[4] = {0};
  int is_float = H5Tget_class(type) == H5T_FLOAT && H5Tget_size(type) == 4;
  if (nd == 4) H5Sget_simple_extent_dims(space, dims, NULL);
  H5Sclose(space);
  H5Tclose(type);
  if (nd != 4 || !is_float) {
    pirf_dataset_close(ds);
    PIRF_USER_CHECK(0, "%s: /fields in '%s' must be float32 with shape (N, C, H, W); it has %d "
                    "dimensions%s", what, path, nd, is_float ? "" : " and is not float32");
  }
  ds->N = (long)dims[0];
  ds->C = (int)dims[1];
  ds->H = (int)dims[2];
  ds->W = (int)dims[3];
  return 0;
}

int pirf_dataset_read(pirf_dataset *ds, const pirf_tile_block *b, float *data) {
  PIRF_CHECK(b->count == 0 || b->first + b->count <= ds->N,
             "reading samples [%ld, %ld) of '%s', which has %ld", b->first, b->first + b->count,
             ds->path, ds->N);
  return pirf_h5_read_block(ds->fields, ds->C, b, data);
}

int pirf_dataset_close(pirf_dataset *ds) {
  if (ds->fields > 0) H5Dclose(ds->fields);
  if (ds->file > 0) H5Fclose(ds->file);
  ds->file = ds->fields = 0;
  return 0;
}

/* ---- attributes ------------------------------------------------------------------------- */

static void attr_delete_if_exists(hid_t loc, const char *name) {
  if (H5Aexists(loc, name) > 0) H5Adelete(loc, name);
}

int pirf_attr_write_str(hid_t loc, const char *name, const char *value) {
  attr_delete_if_exists(loc, name);
  hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, H5T_VARIABLE);
  H5Tset_cset(type, H5T_CSET_UTF8);
  hid_t space = H5Screate(H5S_SCALAR);
  hid_t attr = H5Acreate2(loc, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
  PIRF_H5(attr, "cannot create attribute '%s'", name);
  herr_t st = H5Awrite(attr, type, &value);
  H5Aclose(attr);
  H5Sclose(space);
  H5Tclose(type);
  PIRF_H5(st, "cannot write attribute '%s'", name);
  return 0;
}

int pirf_attr_write_double(hid_t loc, const char *name, int n, const double *values) {
  attr_delete_if_exists(loc, name);
  hsize_t dims = (hsize_t)n;
  hid_t space = n == 1 ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &dims, NULL);
  hid_t attr = H5Acreate2(loc, name, H5T_NATIVE_DOUBLE, space, H5P_DEFAULT, H5P_DEFAULT);
  PIRF_H5(attr, "cannot create attribute '%s'", name);
  herr_t st = H5Awrite(attr, H5T_NATIVE_DOUBLE, values);
  H5Aclose(attr);
  H5Sclose(space);
  PIRF_H5(st, "cannot write attribute '%s'", name);
  return 0;
}

int pirf_attr_write_long(hid_t loc, const char *name, long value) {
  attr_delete_if_exists(loc, name);
  hid_t space = H5Screate(H5S_SCALAR);
  hid_t attr = H5Acreate2(loc, name, H5T_NATIVE_LONG, space, H5P_DEFAULT, H5P_DEFAULT);
  PIRF_H5(attr, "cannot create attribute '%s'", name);
  herr_t st = H5Awrite(attr, H5T_NATIVE_LONG, &value);
  H5Aclose(attr);
  H5Sclose(space);
  PIRF_H5(st, "cannot write attribute '%s'", name);
  return 0;
}

int pirf_attr_exists(hid_t loc, const char *name) { return H5Aexists(loc, name) > 0; }

static int attr_open(hid_t loc, const char *name, hid_t *attr) {
  PIRF_USER_CHECK(H5Aexists(loc, name) > 0,
                  "the file has no attribute '%s'; was it written by pirf (format version %d)?",
                  name, PIRF_FORMAT_VERSION);
  *attr = H5Aopen(loc, name, H5P_DEFAULT);
  PIRF_H5(*attr, "cannot open attribute '%s'", name);
  return 0;
}

int pirf_attr_read_str(hid_t loc, const char *name, char **value) {
  hid_t attr;
  PIRF_TRY(attr_open(loc, name, &attr));
  hid_t ftype = H5Aget_type(attr);
  int ok = H5Tget_class(ftype) == H5T_STRING;
  *value = NULL;
  if (ok && H5Tis_variable_str(ftype) > 0) {
    hid_t mtype = H5Tcopy(H5T_C_S1);
    H5Tset_size(mtype, H5T_VARIABLE);
    H5Tset_cset(mtype, H5Tget_cset(ftype)); /* HDF5 does not convert between ASCII and UTF-8 */
    char *s = NULL;
    if (H5Aread(attr, mtype, &s) >= 0 && s) {
      *value = strdup(s);
      H5free_memory(s);
    }
    H5Tclose(mtype);
  } else if (ok) {
    size_t n = H5Tget_size(ftype);
    *value = calloc(n + 1, 1);
    hid_t mtype = H5Tcopy(H5T_C_S1);
    H5Tset_size(mtype, n);
    H5Tset_cset(mtype, H5Tget_cset(ftype));
    if (*value && H5Aread(attr, mtype, *value) < 0) {
      free(*value);
      *value = NULL;
    }
    H5Tclose(mtype);
  }
  H5Tclose(ftype);
  H5Aclose(attr);
  PIRF_CHECK(*value, "attribute '%s' is not a readable string", name);
  return 0;
}

int pirf_attr_read_double(hid_t loc, const char *name, int n, double *values) {
  hid_t attr;
  PIRF_TRY(attr_open(loc, name, &attr));
  hid_t space = H5Aget_space(attr);
  hssize_t npts = H5Sget_simple_extent_npoints(space);
  H5Sclose(space);
  if (npts != n) {
    H5Aclose(attr);
    PIRF_USER_CHECK(0, "attribute '%s' has %lld values, expected %d", name, (long long)npts, n);
  }
  herr_t st = H5Aread(attr, H5T_NATIVE_DOUBLE, values);
  H5Aclose(attr);
  PIRF_H5(st, "cannot read attribute '%s'", name);
  return 0;
}

int pirf_attr_read_long(hid_t loc, const char *name, long *value) {
  hid_t attr;
  PIRF_TRY(attr_open(loc, name, &attr));
  herr_t st = H5Aread(attr, H5T_NATIVE_LONG, value);
  H5Aclose(attr);
  PIRF_H5(st, "cannot read attribute '%s'", name);
  return 0;
}

/* ---- resumable writing (pirf generate) -------------------------------------------------------- */

int pirf_dataset_make_resumable(pirf_dataset *ds, const char *identity) {
  PIRF_TRY(pirf_attr_write_str(ds->file, "resume_identity", identity));
  hsize_t n = (hsize_t)ds->N;
  hid_t space = H5Screate_simple(1, &n, NULL);
  PIRF_H5(space, "cannot create the dataspace for /generated");
  hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  unsigned char zero = 0;
  H5Pset_fill_value(dcpl, H5T_NATIVE_UCHAR, &zero);
  H5Pset_fill_time(dcpl, H5D_FILL_TIME_ALLOC); /* every sample starts "not generated" */
  hid_t d = H5Dcreate2(ds->file, "generated", H5T_NATIVE_UCHAR, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  H5Pclose(dcpl);
  H5Sclose(space);
  PIRF_H5(d, "cannot create /generated in '%s'", ds->partial);
  H5Dclose(d);
  PIRF_H5(H5Fflush(ds->file, H5F_SCOPE_GLOBAL), "cannot flush '%s'", ds->partial);
  return 0;
}

/* Whether every rank succeeded (collective). */
static int all_ok(MPI_Comm comm, int ok) {
  MPI_Allreduce(MPI_IN_PLACE, &ok, 1, MPI_INT, MPI_MIN, comm);
  return ok;
}

int pirf_dataset_reopen_partial(pirf_dataset *ds, MPI_Comm comm, const char *path, long N, int C,
                                int H, int W, unsigned char *done, char **identity, char *why,
                                size_t whylen) {
  memset(ds, 0, sizeof *ds);
  ds->comm = comm;
  ds->N = N;
  ds->C = C;
  ds->H = H;
  ds->W = W;
  ds->writing = 1;
  *identity = NULL;
  why[0] = 0;
  snprintf(ds->path, sizeof ds->path, "%s", path);
  snprintf(ds->partial, sizeof ds->partial, "%s.partial", path);
  int rank;
  MPI_Comm_rank(comm, &rank);
  int exists = access(ds->partial, F_OK) == 0;
  PIRF_MPI(MPI_Bcast(&exists, 1, MPI_INT, 0, comm));
  if (!exists) return 0;
  hid_t fapl = mpio_fapl(comm);
  PIRF_H5(fapl, "cannot set up MPI-IO file access");
  H5E_BEGIN_TRY { ds->file = H5Fopen(ds->partial, H5F_ACC_RDWR, fapl); }
  H5E_END_TRY;
  H5Pclose(fapl);
  if (!all_ok(comm, ds->file >= 0)) {
    if (ds->file >= 0) H5Fclose(ds->file);
    ds->file = 0;
    snprintf(why, whylen, "it is not a readable HDF5 file (a run killed while writing?)");
    return 0;
  }
  /* everything below reads metadata every rank sees identically */
  long version = -1;
  hid_t gen = -1;
  int ok = 1;
  H5E_BEGIN_TRY {
    if (H5Aexists(ds->file, "format_version") > 0) pirf_attr_read_long(ds->file, "format_version", &version);
    if (H5Lexists(ds->file, "fields", H5P_DEFAULT) > 0) ds->fields = H5Dopen2(ds->file, "fields", H5P_DEFAULT);
    if (H5Lexists(ds->file, "generated", H5P_DEFAULT) > 0) gen = H5Dopen2(ds->file, "generated", H5P_DEFAULT);
  }
  H5E_END_TRY;
  if (version != PIRF_FORMAT_VERSION || ds->fields <= 0 || gen < 0 ||
      !pirf_attr_exists(ds->file, "resume_identity")) {
    snprintf(why, whylen, "it lacks what a resumable pirf data set holds (format version %d, "
             "/fields, /generated, resume_identity)", PIRF_FORMAT_VERSION);
    ok = 0;
  }
  /* the identity first: a partial of other settings is reported by the keys that differ */
  if (ok && pirf_attr_read_str(ds->file, "resume_identity", identity) != 0) {
    snprintf(why, whylen, "its resume_identity cannot be read");
    ok = 0;
  }
  if (ok) {
    hid_t space = H5Dget_space(ds->fields);
    hsize_t dims[4] = {0, 0, 0, 0}, ng = 0;
    int nd = H5Sget_simple_extent_ndims(space);
    if (nd == 4) H5Sget_simple_extent_dims(space, dims, NULL);
    H5Sclose(space);
    space = H5Dget_space(gen);
    if (H5Sget_simple_extent_ndims(space) == 1) H5Sget_simple_extent_dims(space, &ng, NULL);
    H5Sclose(space);
    if (nd != 4 || dims[0] != (hsize_t)N || dims[1] != (hsize_t)C || dims[2] != (hsize_t)H ||
        dims[3] != (hsize_t)W || ng != (hsize_t)N) {
      snprintf(why, whylen, "its /fields has shape (%llu, %llu, %llu, %llu), not (%ld, %d, %d, %d)",
               (unsigned long long)dims[0], (unsigned long long)dims[1],
               (unsigned long long)dims[2], (unsigned long long)dims[3], N, C, H, W);
      ok = 0;
    }
  }
  if (ok && H5Dread(gen, H5T_NATIVE_UCHAR, H5S_ALL, H5S_ALL, H5P_DEFAULT, done) < 0) {
    snprintf(why, whylen, "its record of the generated samples cannot be read");
    ok = 0;
  }
  if (gen >= 0) H5Dclose(gen);
  if (!all_ok(comm, ok)) {
    if (!why[0]) snprintf(why, whylen, "it cannot be read on every rank");
    pirf_dataset_close(ds); /* *identity stays, when read, for the caller's message */
    ds->writing = 1;
  }
  return 0;
}

int pirf_dataset_mark_generated(pirf_dataset *ds, long first, long count, int writer) {
  hid_t d = H5Dopen2(ds->file, "generated", H5P_DEFAULT);
  PIRF_H5(d, "cannot open /generated in '%s'", ds->partial);
  hid_t fspace = H5Dget_space(d);
  hsize_t start = (hsize_t)first, n = (hsize_t)(count > 0 ? count : 1);
  hid_t mspace = H5Screate_simple(1, &n, NULL);
  unsigned char *ones = malloc(n);
  if (ones) memset(ones, 1, n);
  if (writer && count > 0) {
    H5Sselect_hyperslab(fspace, H5S_SELECT_SET, &start, NULL, &n, NULL);
  } else {
    H5Sselect_none(fspace);
    H5Sselect_none(mspace);
  }
  hid_t dxpl = H5Pcreate(H5P_DATASET_XFER);
  H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE);
  herr_t st = ones ? H5Dwrite(d, H5T_NATIVE_UCHAR, mspace, fspace, dxpl, ones) : -1;
  H5Pclose(dxpl);
  H5Sclose(mspace);
  H5Sclose(fspace);
  H5Dclose(d);
  free(ones);
  PIRF_H5(st, "cannot record samples [%ld, %ld) as generated in '%s'", first, first + count,
          ds->partial);
  /* the record reaches the disk after the fields it describes */
  PIRF_H5(H5Fflush(ds->file, H5F_SCOPE_GLOBAL), "cannot flush '%s'", ds->partial);
  return 0;
}

int pirf_dataset_keep_partial(pirf_dataset *ds) {
  herr_t a = ds->fields > 0 ? H5Dclose(ds->fields) : 0;
  herr_t b = ds->file > 0 ? H5Fclose(ds->file) : 0;
  ds->file = ds->fields = 0;
  PIRF_H5(a < 0 || b < 0 ? -1 : 0, "cannot close '%s'", ds->partial);
  return 0;
}

int pirf_dataset_end_resumable(pirf_dataset *ds) {
  if (H5Lexists(ds->file, "generated", H5P_DEFAULT) > 0)
    PIRF_H5(H5Ldelete(ds->file, "generated", H5P_DEFAULT), "cannot delete /generated in '%s'",
            ds->partial);
  if (pirf_attr_exists(ds->file, "resume_identity"))
    PIRF_H5(H5Adelete(ds->file, "resume_identity"), "cannot delete an attribute of '%s'",
            ds->partial);
  return 0;
}
