/* Field files explained to other tools: HDF5 dimension scales, units and descriptions inside the
 * file (for h5py and HDFView users), and an XDMF sidecar `<name>.xmf` beside it (for ParaView and
 * VTK's XDMF reader).
 *
 * Both read what the field-file writers already put in the file (attributes pde, channel_names,
 * centring, grid_spacing, resolution; data sets /fields and, in samples files, /physical and
 * /residual), so one description serves data sets, held-out sets and samples files alike:
 *
 *   /dimensions/sample, /channel, /residual_channel, /row, /column   the dimension scales of N, C,
 *       Cr, H, W (sample indices, channel names, and the physical coordinate of each row and
 *       column, with attributes units, long_name); every (N, C, H, W) data set has its dimensions
 *       labelled (sample, channel, row coordinate name, column coordinate name) and attributes
 *       units and description.
 *   <name>.xmf   (XDMF 3) one uniform grid per sample in a temporal collection (time value = the
 *       sample index), a CoRectMesh in physical coordinates (one layer of points in z, so VTK
 *       shows an x-y image; cell data for cell-centred PDEs, point data for vertex and periodic
 *       grids), each channel of each field data set an attribute that points into the HDF5 file
 *       by relative path (XDMF 3's HDF subset syntax: one (H, W) block per sample and channel).
 *
 * A file without those grid attributes (pirf denoise's outputs, say) is left as it is, with no
 * sidecar. Called by the field-file writers (pirf/dataset.h's commit): pirf_field_file_describe on the
 * closed `.partial` file before its rename, pirf_xdmf_write after it. Both are collective: rank 0
 * reopens the closed file serially and the others wait for its status. */
#ifndef PIRF_XDMF_H
#define PIRF_XDMF_H

#include <mpi.h>
#include <stddef.h>

/* Add dimension scales, labels, units and descriptions to the closed field file `path`. */
int pirf_field_file_describe(MPI_Comm comm, const char *path);
/* Write the XDMF sidecar of the closed field file `h5path` (collective; rank 0 writes). */
int pirf_xdmf_write(MPI_Comm comm, const char *h5path);
/* The same, on the calling rank alone (for a file renamed by one rank). */
int pirf_xdmf_write_local(const char *h5path);
/* The sidecar's path: h5path with `.h5` replaced by `.xmf` (`.xmf` appended if it has no `.h5`). */
void pirf_xdmf_path(const char *h5path, char *buf, size_t len);

#endif
