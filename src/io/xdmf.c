/* Field files explained to other tools: dimension scales and units inside, XDMF beside (see
 * pirf/xdmf.h). */
#include "pirf/xdmf.h"

#include "pirf/check.h"
#include "pirf/dataset.h"

#include <hdf5.h>
#include <hdf5_hl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_SCALE_NAMES = 16 };

/* One axis of the image: its coordinate's name, what it is, and x_i = origin + i * spacing. */
typedef struct {
  const char *name, *long_name;
  double origin, spacing;
} axis;

/* What a field file's grid is, from its attributes. */
typedef struct {
  char pde[32], names[256], centring[16];
  double h;
  long R;
  int cell; /* values at cell centres (Darcy) rather than at grid points */
  axis row, col;
} grid_desc;

/* Whether the file says what its grid is (pirf generate/sample/evaluate files do; other files in
 * the same (N, C, H, W) layout, such as pirf denoise's outputs, may not: they are left alone). */
static int has_grid(hid_t f) {
  static const char *need[] = {"pde", "channel_names", "centring", "grid_spacing", "resolution"};
  for (size_t i = 0; i < sizeof need / sizeof *need; i++)
    if (!pirf_attr_exists(f, need[i])) return 0;
  return H5Lexists(f, "fields", H5P_DEFAULT) > 0;
}

static int read_grid(hid_t f, grid_desc *g) {
  memset(g, 0, sizeof *g);
  char *s;
  PIRF_TRY(pirf_attr_read_str(f, "pde", &s));
  snprintf(g->pde, sizeof g->pde, "%s", s);
  free(s);
  PIRF_TRY(pirf_attr_read_str(f, "channel_names", &s));
  snprintf(g->names, sizeof g->names, "%s", s);
  free(s);
  PIRF_TRY(pirf_attr_read_str(f, "centring", &s));
  snprintf(g->centring, sizeof g->centring, "%s", s);
  free(s);
  PIRF_TRY(pirf_attr_read_double(f, "grid_spacing", 1, &g->h));
  PIRF_TRY(pirf_attr_read_long(f, "resolution", &g->R));
  g->cell = strcmp(g->centring, "cell") == 0;
  /* rows are y and columns x (H, W) with the grid's own points, except where a PDE says
   * otherwise (its docs/pde-*.md) */
  const double o = g->cell ? 0.5 * g->h : 0;
  g->row = (axis){"y", "y coordinate (rows, H axis)", o, g->h};
  g->col = (axis){"x", "x coordinate (columns, W axis)", o, g->h};
  if (strcmp(g->pde, "burgers") == 0) {
    /* space-time image: row n is t_n = n / (R - 1), column j is x_j = j h */
    g->row = (axis){"t", "time t (rows, H axis)", 0, g->R > 1 ? 1.0 / (double)(g->R - 1) : 1};
  } else if (strcmp(g->pde, "kolmogorov") == 0) {
    g->row = (axis){"x", "x coordinate (rows, H axis)", 0, g->h};
    g->col = (axis){"y", "y coordinate (columns, W axis)", 0, g->h};
  }
  return 0;
}

/* The i-th comma-separated name of `names` (or "<prefix><i>" when there are fewer). */
static void nth_name(const char *names, int i, const char *prefix, char *buf, size_t len) {
  const char *p = names;
  for (int k = 0; k < i && p; k++) {
    p = strchr(p, ',');
    if (p) p++;
  }
  if (!p || !*p) {
    snprintf(buf, len, "%s%d", prefix, i);
    return;
  }
  size_t n = strcspn(p, ",");
  if (n >= len) n = len - 1;
  memcpy(buf, p, n);
  buf[n] = 0;
}

static int ds_dims(hid_t f, const char *name, hsize_t *dims) {
  hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
  PIRF_H5(d, "cannot open '%s'", name);
  hid_t sp = H5Dget_space(d);
  int nd = H5Sget_simple_extent_ndims(sp);
  H5Sget_simple_extent_dims(sp, dims, NULL);
  H5Sclose(sp);
  H5Dclose(d);
  return nd;
}

/* ---- dimension scales -------------------------------------------------------------------- */

static int str_attr(hid_t loc, const char *name, const char *value) {
  return pirf_attr_write_str(loc, name, value);
}

static int make_scale_double(hid_t grp, const char *name, long n, const double *v,
                             const char *label, const char *long_name, const char *units) {
  hsize_t dims = (hsize_t)n;
  hid_t sp = H5Screate_simple(1, &dims, NULL);
  hid_t d = H5Dcreate2(grp, name, H5T_NATIVE_DOUBLE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  H5Sclose(sp);
  PIRF_H5(d, "cannot create the dimension scale '%s'", name);
  int err = H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) < 0 ||
            H5DSset_scale(d, label) < 0;
  if (!err) err = str_attr(d, "long_name", long_name) || str_attr(d, "units", units);
  H5Dclose(d);
  PIRF_CHECK(!err, "cannot write the dimension scale '%s'", name);
  return 0;
}

static int make_scale_names(hid_t grp, const char *name, int n, const char *names,
                            const char *prefix, const char *long_name) {
  char buf[MAX_SCALE_NAMES][64];
  const char *ptr[MAX_SCALE_NAMES];
  PIRF_CHECK(n <= MAX_SCALE_NAMES, "too many channels (%d) for a dimension scale", n);
  for (int i = 0; i < n; i++) {
    nth_name(names, i, prefix, buf[i], sizeof buf[i]);
    ptr[i] = buf[i];
  }
  hsize_t dims = (hsize_t)n;
  hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, H5T_VARIABLE);
  H5Tset_cset(type, H5T_CSET_UTF8);
  hid_t sp = H5Screate_simple(1, &dims, NULL);
  hid_t d = H5Dcreate2(grp, name, type, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  H5Sclose(sp);
  int err = d < 0 || H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, ptr) < 0 ||
            H5DSset_scale(d, name) < 0 || str_attr(d, "long_name", long_name);
  if (d >= 0) H5Dclose(d);
  H5Tclose(type);
  PIRF_CHECK(!err, "cannot write the dimension scale '%s'", name);
  return 0;
}

/* Label the dimensions of data set `name`, attach the scales, write units and description. */
static int describe_dataset(hid_t f, hid_t grp, const grid_desc *g, const char *name,
                            const char *chan_scale, const char *units, const char *what) {
  if (H5Lexists(f, name, H5P_DEFAULT) <= 0) return 0;
  hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
  PIRF_H5(d, "cannot open '%s'", name);
  hid_t sp = H5Dget_space(d);
  const int nd = H5Sget_simple_extent_ndims(sp);
  H5Sclose(sp);
  const char *labels[4] = {"sample", "channel", g->row.name, g->col.name};
  const char *scales[4] = {"sample", chan_scale, "row", "column"};
  int err = 0;
  for (int i = 0; i < nd && i < 4 && !err; i++) {
    hid_t s = H5Dopen2(grp, scales[i], H5P_DEFAULT);
    err = s < 0 || H5DSset_label(d, (unsigned)i, labels[i]) < 0 || H5DSattach_scale(d, s, (unsigned)i) < 0;
    if (s >= 0) H5Dclose(s);
  }
  if (!err) err = str_attr(d, "units", units) || str_attr(d, "description", what);
  H5Dclose(d);
  PIRF_CHECK(!err, "cannot describe the data set '%s'", name);
  return 0;
}

static int describe_file(const char *path) {
  hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
  PIRF_H5(f, "cannot reopen '%s' to describe its data sets", path);
  if (!has_grid(f)) return H5Fclose(f) < 0;
  grid_desc g;
  int err = read_grid(f, &g);
  hsize_t dims[4] = {0}, rdims[4] = {0};
  if (!err) err = ds_dims(f, "fields", dims) != 4;
  const int has_res = !err && H5Lexists(f, "residual", H5P_DEFAULT) > 0;
  if (has_res) err = ds_dims(f, "residual", rdims) != 4;
  hid_t grp = -1;
  if (!err && H5Lexists(f, "dimensions", H5P_DEFAULT) <= 0) {
    grp = H5Gcreate2(f, "dimensions", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    err = grp < 0;
    if (!err) err = str_attr(grp, "description", "dimension scales of the (N, C, H, W) data sets");
    const long N = (long)dims[0], C = (long)dims[1], H = (long)dims[2], W = (long)dims[3];
    const long M = N > H ? (N > W ? N : W) : (H > W ? H : W);
    double *v = malloc((size_t)(M > 1 ? M : 1) * sizeof *v);
    err = err || !v;
    for (long i = 0; i < N && !err; i++) v[i] = (double)i;
    if (!err) err = make_scale_double(grp, "sample", N, v, "sample", "sample index (global)", "1");
    for (long i = 0; i < H && !err; i++) v[i] = g.row.origin + (double)i * g.row.spacing;
    if (!err) err = make_scale_double(grp, "row", H, v, g.row.name, g.row.long_name, "1");
    for (long i = 0; i < W && !err; i++) v[i] = g.col.origin + (double)i * g.col.spacing;
    if (!err) err = make_scale_double(grp, "column", W, v, g.col.name, g.col.long_name, "1");
    free(v);
    if (!err) err = make_scale_names(grp, "channel", (int)C, g.names, "c", "channel name");
    if (!err && has_res)
      err = make_scale_names(grp, "residual_channel", (int)rdims[1], rdims[1] > 1 ? "" : "R", "R",
                             "residual channel");
  } else if (!err) {
    grp = H5Gopen2(f, "dimensions", H5P_DEFAULT);
    err = grp < 0;
  }
  char what[512];
  if (!err) {
    snprintf(what, sizeof what, "%s fields, normalized (x = norm_scale * physical + norm_shift, "
             "per channel): N samples, C channels (%s), %s rows, %s columns",
             g.pde, g.names, g.row.name, g.col.name);
    err = describe_dataset(f, grp, &g, "fields", "channel", "1 (normalized)", what);
  }
  if (!err) {
    snprintf(what, sizeof what, "%s fields in physical units (the PDE's nondimensional form): N "
             "samples, C channels (%s), %s rows, %s columns", g.pde, g.names, g.row.name,
             g.col.name);
    err = describe_dataset(f, grp, &g, "physical", "channel", "1 (nondimensional)", what);
  }
  if (!err) {
    snprintf(what, sizeof what, "%s PDE residual R of each sample (physical units): N samples, "
             "Cr residual channels, %s rows, %s columns", g.pde, g.row.name, g.col.name);
    err = describe_dataset(f, grp, &g, "residual", "residual_channel", "1 (nondimensional)", what);
  }
  if (!err)
    err = describe_dataset(f, grp, &g, "residual_mse", NULL, "1 (nondimensional, squared)",
                           "mean(R^2) of each sample over residual channels and pixels");
  if (!err)
    err = describe_dataset(f, grp, &g, "residual_mae", NULL, "1 (nondimensional)",
                           "mean(|R|) of each sample over residual channels and pixels");
  if (grp >= 0) H5Gclose(grp);
  if (H5Fclose(f) < 0) err = 1;
  PIRF_CHECK(!err, "cannot describe the data sets of '%s'", path);
  return 0;
}

int pirf_field_file_describe(MPI_Comm comm, const char *path) {
  int rank, err = 0;
  MPI_Comm_rank(comm, &rank);
  if (rank == 0) err = describe_file(path);
  PIRF_MPI(MPI_Bcast(&err, 1, MPI_INT, 0, comm));
  PIRF_CHECK(!err, "describing '%s' failed (rank 0 said why)", path);
  return 0;
}

/* ---- XDMF -------------------------------------------------------------------------------- */

void pirf_xdmf_path(const char *h5path, char *buf, size_t len) {
  size_t n = strlen(h5path);
  if (n > 3 && strcmp(h5path + n - 3, ".h5") == 0)
    snprintf(buf, len, "%.*s.xmf", (int)(n - 3), h5path);
  else
    snprintf(buf, len, "%s.xmf", h5path);
}

/* One attribute: channel c of sample n of data set `ds` (dims N C H W), as the (1, 1, H, W) block
 * at (n, c, 0, 0). The block is selected by XDMF 3's HDF subset syntax
 * `file:/data set|start:stride:count:dimensions`, which VTK's XDMF 3 reader (ParaView's default
 * for .xmf) reads; its HyperSlab data items it does not. */
static void xmf_attribute(FILE *o, const char *name, const char *center, const char *file,
                          const char *ds, const hsize_t *dims, long n, int c) {
  const unsigned long long N = dims[0], C = dims[1], H = dims[2], W = dims[3];
  fprintf(o, "        <Attribute Name=\"%s\" AttributeType=\"Scalar\" Center=\"%s\">\n"
             "          <DataItem Dimensions=\"1 1 %llu %llu\" NumberType=\"Float\" Precision=\"4\" "
             "Format=\"HDF\">%s:/%s|%ld %d 0 0:1 1 1 1:1 1 %llu %llu:%llu %llu %llu %llu</DataItem>\n"
             "        </Attribute>\n",
          name, center, H, W, file, ds, n, c, H, W, N, C, H, W);
}

int pirf_xdmf_write_local(const char *h5path) {
  hid_t f = H5Fopen(h5path, H5F_ACC_RDONLY, H5P_DEFAULT);
  PIRF_H5(f, "cannot reopen '%s' to write its XDMF sidecar", h5path);
  if (!has_grid(f)) return H5Fclose(f) < 0;
  grid_desc g;
  hsize_t dims[4] = {0}, pdims[4] = {0}, rdims[4] = {0};
  int err = read_grid(f, &g);
  if (!err) err = ds_dims(f, "fields", dims) != 4;
  const int has_phys = !err && H5Lexists(f, "physical", H5P_DEFAULT) > 0;
  const int has_res = !err && H5Lexists(f, "residual", H5P_DEFAULT) > 0;
  if (has_phys && ds_dims(f, "physical", pdims) != 4) err = 1;
  if (has_res && ds_dims(f, "residual", rdims) != 4) err = 1;
  H5Fclose(f);
  PIRF_CHECK(!err, "'%s' is not a pirf field file (no (N, C, H, W) /fields or grid attributes)",
             h5path);

  char xmf[4200], tmp[4300];
  pirf_xdmf_path(h5path, xmf, sizeof xmf);
  snprintf(tmp, sizeof tmp, "%s.partial", xmf);
  const char *slash = strrchr(h5path, '/');
  const char *file = slash ? slash + 1 : h5path; /* relative to the sidecar, which lies beside */
  FILE *o = fopen(tmp, "w");
  PIRF_CHECK(o, "cannot write '%s'", tmp);
  const long N = (long)dims[0];
  const int C = (int)dims[1];
  const unsigned long long H = dims[2], W = dims[3];
  /* A CoRectMesh of one layer of points in z (XDMF orders axes z, y, x): VTK's reader turns a
   * 2DCoRectMesh into a y-z plane, this into the x-y image ParaView shows. Cell data: the mesh has
   * one more point than values along x and y, starting half a cell before the first centre; point
   * data: the values sit on the mesh points. */
  const double oy = g.cell ? g.row.origin - 0.5 * g.row.spacing : g.row.origin;
  const double ox = g.cell ? g.col.origin - 0.5 * g.col.spacing : g.col.origin;
  const unsigned long long ny = g.cell ? H + 1 : H, nx = g.cell ? W + 1 : W;
  const char *center = g.cell ? "Cell" : "Node";
  fprintf(o, "<?xml version=\"1.0\" ?>\n<!DOCTYPE Xdmf SYSTEM \"Xdmf.dtd\" []>\n"
             "<!-- %s: %s, %ld samples of %llux%llu (%s rows, %s columns), written by pirf -->\n"
             "<Xdmf Version=\"3.0\">\n  <Domain>\n"
             "    <Grid Name=\"samples\" GridType=\"Collection\" CollectionType=\"Temporal\">\n",
          file, g.pde, N, H, W, g.row.name, g.col.name);
  char name[96], cname[64];
  for (long n = 0; n < N; n++) {
    fprintf(o, "      <Grid Name=\"sample %ld\" GridType=\"Uniform\">\n"
               "        <Time Value=\"%ld\"/>\n"
               "        <Topology TopologyType=\"3DCoRectMesh\" Dimensions=\"1 %llu %llu\"/>\n"
               "        <Geometry GeometryType=\"ORIGIN_DXDYDZ\">\n"
               "          <DataItem Dimensions=\"3\" NumberType=\"Float\" Precision=\"8\" "
               "Format=\"XML\">0 %.17g %.17g</DataItem>\n"
               "          <DataItem Dimensions=\"3\" NumberType=\"Float\" Precision=\"8\" "
               "Format=\"XML\">1 %.17g %.17g</DataItem>\n"
               "        </Geometry>\n",
            n, n, ny, nx, oy, ox, g.row.spacing, g.col.spacing);
    for (int c = 0; c < C; c++) {
      nth_name(g.names, c, "c", cname, sizeof cname);
      if (has_phys) {
        xmf_attribute(o, cname, center, file, "physical", pdims, n, c);
        snprintf(name, sizeof name, "%s_normalized", cname);
        xmf_attribute(o, name, center, file, "fields", dims, n, c);
      } else {
        /* a data set holds the normalized fields only: physical = (x - norm_shift) / norm_scale */
        snprintf(name, sizeof name, "%s_normalized", cname);
        xmf_attribute(o, name, center, file, "fields", dims, n, c);
      }
    }
    for (int c = 0; has_res && c < (int)rdims[1]; c++) {
      if (rdims[1] > 1)
        snprintf(name, sizeof name, "R%d", c);
      else
        snprintf(name, sizeof name, "R");
      xmf_attribute(o, name, center, file, "residual", rdims, n, c);
    }
    fprintf(o, "      </Grid>\n");
  }
  fprintf(o, "    </Grid>\n  </Domain>\n</Xdmf>\n");
  int bad = fclose(o) != 0 || rename(tmp, xmf) != 0;
  if (bad) remove(tmp);
  PIRF_CHECK(!bad, "cannot write the XDMF sidecar '%s'", xmf);
  return 0;
}

int pirf_xdmf_write(MPI_Comm comm, const char *h5path) {
  int rank, err = 0;
  MPI_Comm_rank(comm, &rank);
  if (rank == 0) err = pirf_xdmf_write_local(h5path);
  PIRF_MPI(MPI_Bcast(&err, 1, MPI_INT, 0, comm));
  PIRF_CHECK(!err, "writing the XDMF sidecar of '%s' failed (rank 0 said why)", h5path);
  return 0;
}
