/* HDF5 field files written and read collectively (see pirf/dataset.h), and the rules every
 * collective I/O path of src/io follows to fail together (below). */
#define _GNU_SOURCE /* fallocate */
#include "pirf/dataset.h"

#include "pirf/check.h"
#include "pirf/prof.h"
#include "pirf/xdmf.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

/* ---- the I/O environment ------------------------------------------------------------------ */

void pirf_io_environment(void) {
  /* Open MPI's sharedfp/lockedfile component (opened by MPI_File_open for every file HDF5 creates
   * or opens, although pirf never uses shared file pointers) overflows a fixed buffer with the
   * file name at about 240 characters and aborts the job (Open MPI 4.1). The other components
   * (sm, individual) have no such limit. An explicit choice of the user's is kept. */
  setenv("OMPI_MCA_sharedfp", "^lockedfile", 0);
}

void pirf_io_init(void) {
  static int done = 0;
  if (done) return;
  done = 1;
  /* HDF5's automatic error stacks (HDF5-DIAG) are for HDF5's developers: every failure is reported
   * in pirf's words instead, naming the file and what to do. */
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

/* ---- what the deck expects of the files it reads -------------------------------------------- */

static char expect_pde[64], expect_channels[256];

void pirf_io_expect(const char *pde, const char *channel_names) {
  snprintf(expect_pde, sizeof expect_pde, "%s", pde ? pde : "");
  snprintf(expect_channels, sizeof expect_channels, "%s", channel_names ? channel_names : "");
}

const char *pirf_io_expected_pde(void) { return expect_pde[0] ? expect_pde : NULL; }
const char *pirf_io_expected_channels(void) { return expect_channels[0] ? expect_channels : NULL; }

/* ---- failing together --------------------------------------------------------------------------
 * A local failure (one rank's write hit a full disk, one rank's read ran past a truncated file)
 * is noted, not printed, and the rank carries on with the collective calls it still owes (the
 * remaining data set creations, the close) so that no peer waits forever. At the next agreement
 * point every rank learns whether any rank failed, and why (the lowest failing rank's note), then
 * all clean up the same way and rank 0 alone prints one sentence. */

static struct {
  char why[512];
  int nospace;
} io_note, io_agreed;

/* Whether the file system holding `path` has (almost) no room left. */
static int disk_full(const char *path) {
  char dir[PIRF_IO_MAX_PATH + 16];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  if (slash) *(slash == dir ? slash + 1 : slash) = 0;
  else snprintf(dir, sizeof dir, ".");
  struct statvfs v;
  if (statvfs(dir, &v) != 0 || (v.f_flag & ST_RDONLY)) return 0;
  return (double)v.f_bavail * (double)v.f_frsize < 1024.0 * 1024.0;
}

void pirf_io_note(const char *path, const char *fmt, ...) {
  int e = errno;
  if (io_note.why[0]) return; /* the first failure is the one that explains the others */
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(io_note.why, sizeof io_note.why, fmt, ap);
  va_end(ap);
  io_note.nospace = e == ENOSPC || e == EDQUOT || (path && disk_full(path));
}

int pirf_io_agree(MPI_Comm comm, int err) {
  int rank, size;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  int mine[3] = {err, err ? io_note.nospace : 0, err ? size - rank : 0}, all[3];
  if (MPI_Allreduce(mine, all, 3, MPI_INT, MPI_MAX, comm) != MPI_SUCCESS) return PIRF_ERR;
  if (all[0]) {
    int root = size - all[2];
    char why[sizeof io_note.why];
    memcpy(why, io_note.why, sizeof why);
    MPI_Bcast(why, (int)sizeof why, MPI_CHAR, root, comm);
    why[sizeof why - 1] = 0;
    /* a second failure while cleaning up after the first does not replace its explanation */
    if (!io_agreed.why[0]) memcpy(io_agreed.why, why, sizeof why);
    io_agreed.nospace |= all[1];
  }
  io_note.why[0] = 0;
  io_note.nospace = 0;
  return all[0];
}

int pirf_io_fail(MPI_Comm comm, int code, const char *file, int line, const char *fmt, ...) {
  char what[PIRF_IO_MAX_PATH + 256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  (void)comm;
  if (io_agreed.nospace)
    pirf_error_report(file, line, "pirf_io_fail", 1,
                      "%s: the disk is full (no space left on its file system: %s); free some "
                      "space or write elsewhere, then rerun", what,
                      io_agreed.why[0] ? io_agreed.why : "write failed");
  else
    pirf_error_report(file, line, "pirf_io_fail", 1, "%s: %s", what,
                      io_agreed.why[0] ? io_agreed.why : "an HDF5 call failed");
  io_agreed.why[0] = 0;
  io_agreed.nospace = 0;
  return code ? code : PIRF_ERR;
}

int pirf_io_close(MPI_Comm comm, hid_t file, const char *partial, int err) {
  int rank;
  MPI_Comm_rank(comm, &rank);
  int failed = pirf_io_agree(comm, err);
  /* A file whose writes failed on a full disk also fails to flush its metadata on close, and HDF5
   * (1.10) then keeps a half-closed file that crashes the process at MPI_Finalize. The file is
   * garbage anyway: cutting it to nothing first gives the close the room it needs (the metadata
   * pages it writes back). Files with many objects (checkpoints) also reserve their space up
   * front (pirf_io_reserve), so that their writes do not fail in the first place. */
  if (failed && rank == 0 && truncate(partial, 0) != 0) { /* nothing more to do */
  }
  if (failed) MPI_Barrier(comm);
  herr_t st = H5Fclose(file);
  int bad = st < 0;
  MPI_Allreduce(MPI_IN_PLACE, &bad, 1, MPI_INT, MPI_MAX, comm);
  if (bad) { /* (a second H5Fclose of the half-closed file would crash at once) */
    if (st < 0) pirf_io_note(partial, "closing the file (flushing its metadata) failed");
    failed = pirf_io_agree(comm, st < 0 ? PIRF_ERR : 0);
  }
  if (failed && rank == 0) unlink(partial); /* never leave a half-written file behind */
  if (failed) MPI_Barrier(comm);
  return failed;
}

int pirf_io_reserve(MPI_Comm comm, const char *partial, double bytes) {
  int rank, err = 0;
  MPI_Comm_rank(comm, &rank);
  if (rank == 0) {
    int fd = open(partial, O_WRONLY);
    /* Linux's fallocate, not posix_fallocate: no slow emulation where the file system cannot
     * reserve (then nothing is reserved, and a full disk is caught when a write fails) */
    if (fd >= 0 && fallocate(fd, 0, 0, (off_t)bytes) != 0 && (errno == ENOSPC || errno == EDQUOT)) {
      err = errno;
      if (ftruncate(fd, 0) != 0) { /* give back what was reserved; nothing more to do */
      }
    }
    if (fd >= 0) close(fd);
  }
  PIRF_MPI(MPI_Bcast(&err, 1, MPI_INT, 0, comm));
  if (err) {
    errno = err;
    pirf_io_note(partial, "reserving %.0f bytes failed", bytes);
  }
  return err ? PIRF_ERR : 0;
}

/* The communicator a file (or an object in it) was opened with. The caller frees *comm. */
static int object_comm(hid_t obj, MPI_Comm *comm) {
  *comm = MPI_COMM_NULL;
  hid_t file = H5Iget_file_id(obj);
  if (file < 0) return PIRF_ERR;
  hid_t fapl = H5Fget_access_plist(file);
  MPI_Info info = MPI_INFO_NULL;
  herr_t st = fapl < 0 ? -1 : H5Pget_fapl_mpio(fapl, comm, &info);
  if (fapl >= 0) H5Pclose(fapl);
  H5Fclose(file);
  if (info != MPI_INFO_NULL) MPI_Info_free(&info);
  return st < 0 ? PIRF_ERR : 0;
}

/* The file's name for messages: the final name of a file still under <name>.partial. */
static void object_file_name(hid_t obj, char *buf, size_t len) {
  ssize_t n = H5Fget_name(obj, buf, len);
  if (n < 0) {
    snprintf(buf, len, "(unknown file)");
    return;
  }
  size_t k = strlen(buf);
  if (k > 8 && !strcmp(buf + k - 8, ".partial")) buf[k - 8] = 0;
}

int pirf_io_check_output_path(MPI_Comm comm, const char *path, const char *what) {
  pirf_io_init();
  size_t len = strlen(path);
  PIRF_USER_CHECK(len > 0, "%s: the output path is empty", what);
  PIRF_USER_CHECK(len <= PIRF_IO_MAX_PATH,
                  "%s: the output path is %zu characters long; pirf writes paths of at most %d "
                  "characters (the file system's limit, %d, less room for '.partial'); use a "
                  "shorter directory or a symbolic link to it", what, len, PIRF_IO_MAX_PATH,
                  PATH_MAX);
  size_t comp = 0, longest = 0;
  for (const char *c = path;; c++) {
    if (*c == '/' || *c == 0) {
      if (comp > longest) longest = comp;
      comp = 0;
      if (*c == 0) break;
    } else {
      comp++;
    }
  }
  PIRF_USER_CHECK(longest + 8 <= NAME_MAX,
                  "%s: '%s' has a file or directory name of %zu characters; names may have at "
                  "most %d (the file system's limit, %d, less room for '.partial')", what, path,
                  longest, NAME_MAX - 8, NAME_MAX);
  int rank, isdir = 0;
  MPI_Comm_rank(comm, &rank);
  struct stat sb;
  if (rank == 0 && stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) isdir = 1;
  PIRF_MPI(MPI_Bcast(&isdir, 1, MPI_INT, 0, comm));
  PIRF_USER_CHECK(!isdir, "%s: '%s' is a directory; give a file name (for example '%s/%s')",
                  what, path, path, "out.h5");
  return 0;
}

const char *pirf_io_create_failure(const char *partial) {
  /* HDF5 keeps no errno; asking the file system directly says why (read-only, not a directory) */
  int fd = open(partial, O_WRONLY | O_CREAT, 0644);
  if (fd < 0) return strerror(errno);
  close(fd);
  unlink(partial);
  return "HDF5 could not create it";
}

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

/* One collective block transfer, then agreement over the file's communicator: a failure on any
 * rank (a full disk seen by one aggregator, a read past the end of a truncated file) is every
 * rank's failure, reported once. */
static int transfer_block(hid_t dset, int C, const pirf_tile_block *b, float *data, int write) {
  hid_t fspace = -1, mspace = -1;
  int err = select_block(dset, C, b, &fspace, &mspace);
  herr_t st = -1;
  if (!err) {
    hid_t dxpl = H5Pcreate(H5P_DATASET_XFER);
    if (dxpl >= 0 && H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE) >= 0)
      st = write ? H5Dwrite(dset, H5T_NATIVE_FLOAT, mspace, fspace, dxpl, data)
                 : H5Dread(dset, H5T_NATIVE_FLOAT, mspace, fspace, dxpl, data);
    if (dxpl >= 0) H5Pclose(dxpl);
  }
  if (mspace >= 0) H5Sclose(mspace);
  if (fspace >= 0) H5Sclose(fspace);
  char name[PIRF_IO_MAX_PATH + 16];
  object_file_name(dset, name, sizeof name);
  if (!err && st < 0) {
    pirf_io_note(name, "HDF5 %s of samples [%ld, %ld) failed", write ? "write" : "read",
                 b->first, b->first + b->count);
    err = PIRF_ERR;
  }
  MPI_Comm comm;
  PIRF_CHECK(!object_comm(dset, &comm), "cannot get the communicator of '%s'", name);
  int all = pirf_io_agree(comm, err);
  MPI_Comm_free(&comm);
  if (all)
    return PIRF_IO_FAIL(MPI_COMM_NULL, PIRF_ERR, "cannot %s '%s'", write ? "write" : "read", name);
  return 0;
}

int pirf_h5_write_block(hid_t dset, int C, const pirf_tile_block *b, const float *data) {
  pirf_prof_begin(PIRF_EV_DATA_WRITE);
  const int err = transfer_block(dset, C, b, (float *)data, 1);
  pirf_prof_end(PIRF_EV_DATA_WRITE, 0);
  return err;
}

int pirf_h5_read_block(hid_t dset, int C, const pirf_tile_block *b, float *data) {
  pirf_prof_begin(PIRF_EV_DATA_READ);
  const int err = transfer_block(dset, C, b, data, 0);
  pirf_prof_end(PIRF_EV_DATA_READ, 0);
  return err;
}

int pirf_h5_write_vector(hid_t file, const char *name, long n, const double *values) {
  hsize_t dims = (hsize_t)n;
  hid_t space = H5Screate_simple(1, &dims, NULL);
  PIRF_H5(space, "cannot create the dataspace for '%s'", name);
  hid_t dset = H5Dcreate2(file, name, H5T_NATIVE_DOUBLE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  H5Sclose(space);
  PIRF_H5(dset, "cannot create data set '%s'", name);
  MPI_Comm comm;
  PIRF_CHECK(!object_comm(file, &comm), "cannot get the communicator of a file");
  int rank;
  MPI_Comm_rank(comm, &rank);
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
  H5Dclose(dset);
  char fname[PIRF_IO_MAX_PATH + 16];
  object_file_name(file, fname, sizeof fname);
  if (st < 0) pirf_io_note(fname, "HDF5 write of data set '%s' failed", name);
  int all = pirf_io_agree(comm, st < 0 ? PIRF_ERR : 0);
  MPI_Comm_free(&comm);
  if (all) return PIRF_IO_FAIL(MPI_COMM_NULL, PIRF_ERR, "cannot write '%s'", fname);
  return 0;
}

int pirf_dataset_create(pirf_dataset *ds, MPI_Comm comm, const char *path, long N, int C, int H,
                        int W) {
  memset(ds, 0, sizeof *ds);
  pirf_io_init();
  ds->comm = comm;
  ds->N = N;
  ds->C = C;
  ds->H = H;
  ds->W = W;
  PIRF_TRY(pirf_io_check_output_path(comm, path, "output file"));
  snprintf(ds->path, sizeof ds->path, "%s", path);
  snprintf(ds->partial, sizeof ds->partial, "%s.partial", path);
  hid_t fapl = mpio_fapl(comm);
  PIRF_H5(fapl, "cannot set up MPI-IO file access");
  ds->file = H5Fcreate(ds->partial, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  H5Pclose(fapl);
  if (ds->file < 0) pirf_io_note(NULL, "%s", pirf_io_create_failure(ds->partial));
  if (pirf_io_agree(comm, ds->file < 0 ? PIRF_ERR : 0)) {
    if (ds->file >= 0) H5Fclose(ds->file);
    ds->file = 0;
    int rank;
    MPI_Comm_rank(comm, &rank);
    if (rank == 0) unlink(ds->partial);
    return PIRF_IO_FAIL(comm, PIRF_ERR_USER, "cannot create '%s': check that its directory "
                        "exists and is writable", ds->partial);
  }
  ds->writing = 1;
  /* the space of /fields first, so that no write meets a full disk half way (pirf_io_close) */
  PIRF_TRY(pirf_dataset_reserve(ds, (double)N * C * H * W * sizeof(float)));
  int err = pirf_h5_create_fields(ds->file, "fields", N, C, H, W, &ds->fields);
  if (!err) err = pirf_attr_write_long(ds->file, "format_version", PIRF_FORMAT_VERSION);
  if (err) pirf_dataset_discard(ds);
  PIRF_TRY(err);
  return 0;
}

int pirf_dataset_reserve(pirf_dataset *ds, double bytes) {
  if (pirf_io_agree(ds->comm, pirf_io_reserve(ds->comm, ds->partial, bytes + 65536.0))) {
    pirf_dataset_discard_quietly(ds);
    return PIRF_IO_FAIL(ds->comm, PIRF_ERR, "cannot write '%s'", ds->path);
  }
  return 0;
}

int pirf_dataset_write(pirf_dataset *ds, const pirf_tile_block *b, const float *data) {
  return pirf_h5_write_block(ds->fields, ds->C, b, data);
}

int pirf_dataset_commit(pirf_dataset *ds) {
  /* both closes on every rank whatever the first one gave (they are collective), then agree */
  herr_t s1 = ds->fields > 0 ? H5Dclose(ds->fields) : 0;
  ds->fields = 0;
  if (s1 < 0) pirf_io_note(ds->partial, "closing /fields failed");
  int failed = pirf_io_close(ds->comm, ds->file, ds->partial, s1 < 0 ? PIRF_ERR : 0);
  ds->file = 0;
  ds->writing = 0;
  if (failed) return PIRF_IO_FAIL(ds->comm, PIRF_ERR, "cannot write '%s'", ds->path);
  PIRF_TRY(pirf_field_file_describe(ds->comm, ds->partial)); /* pirf/xdmf.h */
  int rank, err = 0;
  MPI_Comm_rank(ds->comm, &rank);
  if (rank == 0 && rename(ds->partial, ds->path) != 0) {
    err = errno;
    unlink(ds->partial);
  }
  PIRF_MPI(MPI_Bcast(&err, 1, MPI_INT, 0, ds->comm));
  PIRF_USER_CHECK(!err, "cannot rename '%s' to '%s': %s", ds->partial, ds->path, strerror(err));
  return pirf_xdmf_write(ds->comm, ds->path); /* the .xmf sidecar, for ParaView */
}

/* Close a file being written as a failed one: cut to nothing, closed, removed (pirf_io_close). */
static void discard_file(pirf_dataset *ds) {
  if (!ds->comm || ds->comm == MPI_COMM_NULL) return; /* never created */
  if (ds->fields > 0) H5Dclose(ds->fields);
  ds->fields = 0;
  if (ds->file > 0 && ds->writing) {
    pirf_io_note(ds->partial, "discarded");
    pirf_io_close(ds->comm, ds->file, ds->partial, PIRF_ERR);
  } else if (ds->file > 0) {
    H5Fclose(ds->file);
  }
  ds->file = 0;
  ds->writing = 0;
}

/* ...keeping the agreed explanation of the failure for the report that follows */
void pirf_dataset_discard_quietly(pirf_dataset *ds) { discard_file(ds); }

void pirf_dataset_discard(pirf_dataset *ds) {
  discard_file(ds);
  io_agreed.why[0] = 0; /* the caller has reported the failure that led here */
  io_agreed.nospace = 0;
}

/* A string attribute of the file, or "" when it has none (buf is always terminated). */
static void attr_text(hid_t loc, const char *name, char *buf, size_t len) {
  buf[0] = 0;
  char *v = NULL;
  if (H5Aexists(loc, name) > 0) {
    hid_t attr = H5Aopen(loc, name, H5P_DEFAULT);
    hid_t type = attr < 0 ? -1 : H5Aget_type(attr);
    int is_str = type >= 0 && H5Tget_class(type) == H5T_STRING;
    if (type >= 0) H5Tclose(type);
    if (attr >= 0) H5Aclose(attr);
    if (!is_str) {
      snprintf(buf, len, "(not a string)");
      return;
    }
    if (pirf_attr_read_str(loc, name, &v) == 0 && v) snprintf(buf, len, "%s", v);
    free(v);
  }
}

int pirf_io_check_identity(const char *path, const char *what, const char *pde,
                           const char *channels) {
  const char *want_pde = pirf_io_expected_pde(), *want_ch = pirf_io_expected_channels();
  PIRF_USER_CHECK(!want_pde || !pde[0] || !strcmp(pde, want_pde),
                  "%s: '%s' holds %s data (attribute 'pde' = '%s') but the deck has pde.name = "
                  "%s; use the file made for this PDE, or the deck it was made with", what, path,
                  pde, pde, want_pde);
  PIRF_USER_CHECK(!want_ch || !channels[0] || !strcmp(channels, want_ch),
                  "%s: '%s' has the channels '%s' (attribute 'channel_names') but pde.name = %s "
                  "has '%s'; use the file made for this PDE", what, path, channels,
                  want_pde ? want_pde : "?", want_ch);
  return 0;
}

/* The format version of a field file: present and one this pirf reads. */
static int check_format_version(hid_t file, const char *path, const char *what) {
  PIRF_USER_CHECK(H5Aexists(file, "format_version") > 0,
                  "%s: '%s' has no attribute 'format_version'; it was not written by pirf (a "
                  "field file needs /fields and the attributes of docs/data-format.md)", what, path);
  hid_t attr = H5Aopen(file, "format_version", H5P_DEFAULT);
  long v = -1;
  hid_t type = attr < 0 ? -1 : H5Aget_type(attr);
  int is_int = type >= 0 && H5Tget_class(type) == H5T_INTEGER;
  if (type >= 0) H5Tclose(type);
  herr_t st = is_int ? H5Aread(attr, H5T_NATIVE_LONG, &v) : -1;
  if (attr >= 0) H5Aclose(attr);
  PIRF_USER_CHECK(st >= 0, "%s: the attribute 'format_version' of '%s' is not an integer", what,
                  path);
  PIRF_USER_CHECK(v >= 1 && v <= PIRF_FORMAT_VERSION,
                  "%s: '%s' has format_version %ld; this pirf reads field files of version 1 to "
                  "%d (a newer pirf wrote it, or it is damaged)", what, path, v,
                  PIRF_FORMAT_VERSION);
  return 0;
}

/* Every value of /fields finite: each rank reads whole samples of its share (independent reads,
 * a few samples at a time) and the job agrees on the first non-finite (sample, channel). */
static int check_finite(pirf_dataset *ds, const char *what, const char *channels) {
  int rank, size;
  MPI_Comm_rank(ds->comm, &rank);
  MPI_Comm_size(ds->comm, &size);
  const long per = (ds->N + size - 1) / size, lo = rank * per < ds->N ? rank * per : ds->N;
  const long hi = lo + per < ds->N ? lo + per : ds->N;
  const size_t plane = (size_t)ds->H * ds->W, sample = (size_t)ds->C * plane;
  long chunk = (long)(((size_t)16 << 20) / (sample * sizeof(float)));
  if (chunk < 1) chunk = 1;
  float *buf = malloc((size_t)(chunk < per ? chunk : (per > 0 ? per : 1)) * sample * sizeof *buf);
  long first_bad = LONG_MAX; /* sample * C + channel */
  int read_err = buf ? 0 : PIRF_ERR;
  if (!buf) pirf_io_note(NULL, "out of memory checking the values");
  float bad_value = 0;
  for (long n0 = lo; n0 < hi && !read_err && first_bad == LONG_MAX; n0 += chunk) {
    long cnt = hi - n0 < chunk ? hi - n0 : chunk;
    hsize_t start[4] = {(hsize_t)n0, 0, 0, 0};
    hsize_t count[4] = {(hsize_t)cnt, (hsize_t)ds->C, (hsize_t)ds->H, (hsize_t)ds->W};
    hid_t fspace = H5Dget_space(ds->fields), mspace = H5Screate_simple(4, count, NULL);
    herr_t st = -1;
    if (fspace >= 0 && mspace >= 0 &&
        H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL) >= 0)
      st = H5Dread(ds->fields, H5T_NATIVE_FLOAT, mspace, fspace, H5P_DEFAULT, buf);
    if (mspace >= 0) H5Sclose(mspace);
    if (fspace >= 0) H5Sclose(fspace);
    if (st < 0) {
      pirf_io_note(NULL, "HDF5 read of samples [%ld, %ld) failed (is the file truncated?)", n0,
                   n0 + cnt);
      read_err = PIRF_ERR;
      break;
    }
    for (size_t i = 0; i < (size_t)cnt * sample; i++)
      if (!isfinite(buf[i])) {
        first_bad = (n0 + (long)(i / sample)) * ds->C + (long)((i % sample) / plane);
        bad_value = buf[i];
        break;
      }
  }
  free(buf);
  if (pirf_io_agree(ds->comm, read_err))
    return PIRF_IO_FAIL(ds->comm, PIRF_ERR_USER, "%s: cannot read '%s' (damaged?)", what,
                        ds->path);
  long where = first_bad; /* the smallest bad (sample, channel) of all ranks, and who saw it */
  PIRF_MPI(MPI_Allreduce(MPI_IN_PLACE, &where, 1, MPI_LONG, MPI_MIN, ds->comm));
  if (where == LONG_MAX) return 0;
  int owner = first_bad == where ? rank : size;
  PIRF_MPI(MPI_Allreduce(MPI_IN_PLACE, &owner, 1, MPI_INT, MPI_MIN, ds->comm));
  PIRF_MPI(MPI_Bcast(&bad_value, 1, MPI_FLOAT, owner, ds->comm));
  const long n = where / ds->C;
  const int c = (int)(where % ds->C);
  char cname[64] = "";
  const char *p = channels;
  for (int k = 0; p && *p && k < c; k++) {
    p = strchr(p, ',');
    if (p) p++;
  }
  if (p && *p) {
    size_t l = strcspn(p, ",");
    snprintf(cname, sizeof cname, " '%.*s'", (int)(l < 60 ? l : 60), p);
  }
  PIRF_USER_CHECK(0, "%s: '%s' holds a non-finite value (%s) in sample %ld, channel %d%s; the "
                  "data set is damaged or was made by a solver that diverged: regenerate it",
                  what, ds->path, isnan(bad_value) ? "NaN" : (bad_value > 0 ? "+Inf" : "-Inf"),
                  n, c, cname);
  return 0;
}

static int open_checked(pirf_dataset *ds, const char *path, const char *what) {
  PIRF_TRY(check_format_version(ds->file, path, what));
  char pde[64], channels[256];
  attr_text(ds->file, "pde", pde, sizeof pde);
  attr_text(ds->file, "channel_names", channels, sizeof channels);
  PIRF_TRY(pirf_io_check_identity(path, what, pde, channels));
  PIRF_USER_CHECK(H5Lexists(ds->file, "fields", H5P_DEFAULT) > 0,
                  "%s: '%s' has no data set /fields; is it a pirf data file?", what, path);
  H5O_info_t oi;
  PIRF_USER_CHECK(H5Oget_info_by_name(ds->file, "fields", &oi, H5P_DEFAULT) >= 0 &&
                      oi.type == H5O_TYPE_DATASET,
                  "%s: /fields in '%s' is not a data set", what, path);
  ds->fields = H5Dopen2(ds->file, "fields", H5P_DEFAULT);
  PIRF_USER_CHECK(ds->fields >= 0, "%s: cannot open /fields in '%s' (damaged?)", what, path);
  hid_t space = H5Dget_space(ds->fields);
  hid_t type = H5Dget_type(ds->fields);
  int nd = H5Sget_simple_extent_ndims(space);
  hsize_t dims[4] = {0};
  int is_float = H5Tget_class(type) == H5T_FLOAT && H5Tget_size(type) == 4;
  if (nd == 4) H5Sget_simple_extent_dims(space, dims, NULL);
  H5Sclose(space);
  H5Tclose(type);
  PIRF_USER_CHECK(nd == 4 && is_float,
                  "%s: /fields in '%s' must be float32 with shape (N, C, H, W); it has %d "
                  "dimensions%s", what, path, nd, is_float ? "" : " and is not float32");
  PIRF_USER_CHECK(dims[0] >= 1, "%s: '%s' holds no samples (/fields has N = 0); generate the data "
                  "again with data.samples >= 1", what, path);
  PIRF_USER_CHECK(dims[1] >= 1 && dims[2] >= 1 && dims[3] >= 1 && dims[1] <= 64,
                  "%s: /fields in '%s' has the shape (%llu, %llu, %llu, %llu), which is not a "
                  "set of fields", what, path, (unsigned long long)dims[0],
                  (unsigned long long)dims[1], (unsigned long long)dims[2],
                  (unsigned long long)dims[3]);
  if (channels[0]) {
    int n = 1;
    for (const char *c = channels; *c; c++) n += *c == ',';
    PIRF_USER_CHECK(n == (int)dims[1], "%s: '%s' names %d channels ('%s') but /fields has %llu",
                    what, path, n, channels, (unsigned long long)dims[1]);
  }
  ds->N = (long)dims[0];
  ds->C = (int)dims[1];
  ds->H = (int)dims[2];
  ds->W = (int)dims[3];
  PIRF_TRY(check_finite(ds, what, channels));
  return 0;
}

int pirf_dataset_open(pirf_dataset *ds, MPI_Comm comm, const char *path, const char *what) {
  memset(ds, 0, sizeof *ds);
  pirf_io_init();
  ds->comm = comm;
  snprintf(ds->path, sizeof ds->path, "%s", path);
  PIRF_USER_CHECK(strlen(path) < sizeof ds->path, "%s: the path is %zu characters long; pirf "
                  "reads paths of at most %d", what, strlen(path), PIRF_IO_MAX_PATH);
  int missing = access(path, R_OK) != 0, why = missing ? errno : 0, isdir = 0;
  struct stat sb;
  if (!missing && stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) isdir = 1;
  int flags[2] = {missing, isdir};
  PIRF_MPI(MPI_Allreduce(MPI_IN_PLACE, flags, 2, MPI_INT, MPI_MAX, comm));
  PIRF_USER_CHECK(!flags[0], "%s: cannot read the file '%s' (%s). Generate it first with "
                  "`pirf generate DECK` or correct the path", what, path,
                  missing ? strerror(why) : "not visible from every rank");
  PIRF_USER_CHECK(!flags[1], "%s: '%s' is a directory, not an HDF5 file", what, path);
  hid_t fapl = mpio_fapl(comm);
  PIRF_H5(fapl, "cannot set up MPI-IO file access");
  ds->file = H5Fopen(path, H5F_ACC_RDONLY, fapl);
  H5Pclose(fapl);
  int bad = ds->file < 0;
  PIRF_MPI(MPI_Allreduce(MPI_IN_PLACE, &bad, 1, MPI_INT, MPI_MAX, comm));
  if (bad) {
    if (ds->file >= 0) H5Fclose(ds->file);
    ds->file = 0;
    PIRF_USER_CHECK(0, "%s: '%s' is not an HDF5 file (or is damaged or truncated)", what, path);
  }
  int err = open_checked(ds, path, what);
  if (err) pirf_dataset_close(ds);
  PIRF_TRY(err);
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
