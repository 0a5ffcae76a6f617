/* The parameter table: every network tensor's EDM/PyTorch state_dict name, its PyTorch shape and
 * its place in one flat float32 arena (module order).
 *
 * Parameters, gradients, EMA weights, pretrained reference weights and Adam moments all use the same
 * offsets in arenas of their own, so "the gradient of tensor i" is grad + table.p[i].offset.
 * Layer-wise truncation trains a contiguous range of the arena (a decoder level is contiguous in
 * module order), so optimizer state covers [first, first+count) only. */
#ifndef PIRF_PARAMS_H
#define PIRF_PARAMS_H

#include <stddef.h>

#define PIRF_PARAM_NAME 96

typedef struct {
  char name[PIRF_PARAM_NAME]; /* "enc.64x64_block0.conv0.weight" */
  int ndim;
  int shape[4];               /* PyTorch layout: conv [out][in][kh][kw], linear [out][in] */
  size_t offset, count;       /* in floats, within the arena */
} pirf_param;

typedef struct {
  pirf_param *p;
  int n, cap;
  size_t total;               /* floats in the arena */
} pirf_param_table;

#endif
