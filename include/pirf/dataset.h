/* HDF5 field files: data sets, samples (and the same layout for anything that is (N, C, H, W)).
 *
 * One file holds `/fields`, float32 (N, C, H, W), normalized, plus file attributes (PDE name,
 * normalization, grid spacing and centring, the resolved deck as YAML, format version). Files are
 * written collectively with parallel HDF5 (MPI-IO): each rank writes the hyperslab of its own
 * samples and its own tile. A new file is written under "<path>.partial" and renamed to <path> only
 * by pirf_dataset_commit, so an interrupted run never leaves a truncated file under the real name.
 *
 * Every call is collective over the communicator the file was opened with; a rank with nothing to
 * write or read in a round passes count = 0. */
#ifndef PIRF_DATASET_H
#define PIRF_DATASET_H

#include <hdf5.h>
#include <mpi.h>

#define PIRF_FORMAT_VERSION 1
/* The longest file path pirf writes: the system's PATH_MAX (4096, with its terminating zero) less
 * room for ".partial". Longer paths are refused with a message (pirf_io_check_output_path). */
#define PIRF_IO_MAX_PATH 4087

typedef struct {
  MPI_Comm comm;
  hid_t file, fields;
  long N;
  int C, H, W;
  char path[4096], partial[4200];
  int writing;
} pirf_dataset;

/* A tile of `count` samples starting at global sample `first`: rows [ys, ys+ym), columns
 * [xs, xs+xm), stored contiguously as [count][C][ym][xm]. */
typedef struct {
  long first, count;
  int xs, xm, ys, ym;
} pirf_tile_block;

int pirf_dataset_create(pirf_dataset *ds, MPI_Comm comm, const char *path, long N, int C, int H,
                        int W);
int pirf_dataset_write(pirf_dataset *ds, const pirf_tile_block *b, const float *data);
/* Reserve room for `bytes` more of data (beyond /fields, which create reserves): collective; on
 * a full disk the file is discarded and the failure reported (PIRF_ERR). */
int pirf_dataset_reserve(pirf_dataset *ds, double bytes);
void pirf_dataset_discard_quietly(pirf_dataset *ds); /* discard, keeping the agreed failure */
/* Close and rename <path>.partial to <path>. */
int pirf_dataset_commit(pirf_dataset *ds);
/* Close and remove the partial file (error paths). */
void pirf_dataset_discard(pirf_dataset *ds);

/* Resumable writing (`pirf generate`): the partial file also holds /generated, uint8 [N], 1 for each
 * sample whose fields are written, and the attribute resume_identity (the text of the deck keys
 * that determine the data). All collective.
 *   make_resumable   after pirf_dataset_create: add both (all samples "not generated").
 *   reopen_partial   open an existing <path>.partial for writing when it has the shape (N, C, H,
 *                    W) and both records: done[N] gets /generated, *identity (malloc'd) the stored
 *                    identity; ds->file > 0 on success. Otherwise ds->file == 0 and `why` says
 *                    why it cannot be used (empty when there is no partial file), and *identity is
 *                    still set when it could be read; the caller removes the file with
 *                    pirf_dataset_discard and frees *identity.
 *   mark_generated   record [first, first+count) as written (ranks with writer = 0 pass nothing)
 *                    and flush the file, so the record never runs ahead of the fields.
 *   keep_partial     close, leaving <path>.partial for a later run (a stop).
 *   end_resumable    remove both records before pirf_dataset_commit: the final file is a plain
 *                    data set. */
int pirf_dataset_make_resumable(pirf_dataset *ds, const char *identity);
int pirf_dataset_reopen_partial(pirf_dataset *ds, MPI_Comm comm, const char *path, long N, int C,
                                int H, int W, unsigned char *done, char **identity, char *why,
                                size_t whylen);
int pirf_dataset_mark_generated(pirf_dataset *ds, long first, long count, int writer);
int pirf_dataset_keep_partial(pirf_dataset *ds);
int pirf_dataset_end_resumable(pirf_dataset *ds);

/* Open an existing file read-only and check it (a user error naming the file and what is wrong,
 * exit status 2): format_version present and readable by this pirf; the attributes `pde` and
 * `channel_names`, where present, equal to what the deck expects (pirf_io_expect); /fields float32
 * (N, C, H, W) with N >= 1; every value finite (else the first non-finite sample and channel are
 * named). `what` names the file's role in error messages ("data.path"). */
int pirf_dataset_open(pirf_dataset *ds, MPI_Comm comm, const char *path, const char *what);
int pirf_dataset_read(pirf_dataset *ds, const pirf_tile_block *b, float *data);
int pirf_dataset_close(pirf_dataset *ds);

/* ---- failing together (every collective I/O path in src/io) ------------------------------------
 * A local HDF5 failure is noted (pirf_io_note), not printed; every rank goes on with the collective
 * calls it owes; pirf_io_agree (collective) then tells every rank whether any rank failed, and
 * PIRF_IO_FAIL prints one sentence from rank 0 ("...: the disk is full ..." when a rank saw ENOSPC
 * or its file system is full) as a collective error, so main exits without MPI_Abort. */
void pirf_io_environment(void); /* before MPI_Init: MPI-IO settings that long paths need */
void pirf_io_init(void);        /* HDF5's own error printing off (idempotent) */
void pirf_io_note(const char *path, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int pirf_io_agree(MPI_Comm comm, int err); /* the largest err of all ranks */
int pirf_io_fail(MPI_Comm comm, int code, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
#define PIRF_IO_FAIL(comm, code, ...) pirf_io_fail((comm), (code), __FILE__, __LINE__, __VA_ARGS__)
/* Close a file being written under `partial` (collective): agree on err (this rank's failure so
 * far), close, agree on the close; on any failure the file is removed. Returns non-zero when any
 * rank failed (then report with PIRF_IO_FAIL). */
int pirf_io_close(MPI_Comm comm, hid_t file, const char *partial, int err);
/* Reserve `bytes` for the file being written under `partial` (rank 0, collective result), so that
 * later writes cannot meet a full disk. PIRF_ERR (noted: the disk is full) when there is no room. */
int pirf_io_reserve(MPI_Comm comm, const char *partial, double bytes);
/* Why H5Fcreate of `partial` failed, in the file system's words (strerror of a plain open). */
const char *pirf_io_create_failure(const char *partial);
/* An output path pirf can write: not empty, at most PIRF_IO_MAX_PATH characters, names of at most
 * NAME_MAX - 8, not an existing directory. Collective user error otherwise. */
int pirf_io_check_output_path(MPI_Comm comm, const char *path, const char *what);

/* What the deck expects of every file read (set once the deck is loaded): its PDE and channel
 * names. Unset (NULL), nothing is compared. */
void pirf_io_expect(const char *pde, const char *channel_names);
const char *pirf_io_expected_pde(void);
const char *pirf_io_expected_channels(void);
/* A file's pde / channel_names ("" when it has none) against the expectation: user error. */
int pirf_io_check_identity(const char *path, const char *what, const char *pde,
                           const char *channels);

/* File attributes (root group). Writers: collective, same value on every rank. */
int pirf_attr_write_str(hid_t loc, const char *name, const char *value);
int pirf_attr_write_double(hid_t loc, const char *name, int n, const double *values);
int pirf_attr_write_long(hid_t loc, const char *name, long value);
/* Readers return PIRF_ERR with a message naming the attribute if it is missing. */
int pirf_attr_read_str(hid_t loc, const char *name, char **value); /* malloc'd */
int pirf_attr_read_double(hid_t loc, const char *name, int n, double *values);
int pirf_attr_read_long(hid_t loc, const char *name, long *value);
int pirf_attr_exists(hid_t loc, const char *name);

/* Generic (N, C, H, W) float32 data set inside an open file (a second field of a samples file, for
 * example): create collectively / write a block / read a block. */
int pirf_h5_create_fields(hid_t file, const char *name, long N, int C, int H, int W, hid_t *dset);
int pirf_h5_write_block(hid_t dset, int C, const pirf_tile_block *b, const float *data);
int pirf_h5_read_block(hid_t dset, int C, const pirf_tile_block *b, float *data);
/* A small 1-D float64 data set written by rank 0's values (collective; all ranks pass the same). */
int pirf_h5_write_vector(hid_t file, const char *name, long n, const double *values);

#endif
