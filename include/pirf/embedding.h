/* EDM's positional noise embedding as SongUNet uses it (docs/algorithm.md §4.4):
 *
 *   freqs_j = (1/max_positions)^(j / (N/2 - (endpoint ? 1 : 0))),  j = 0 .. N/2-1
 *   e = [cos(t * freqs), sin(t * freqs)]     (EDM PositionalEmbedding)
 *   out = [sin(t * freqs), cos(t * freqs)]   (SongUNet then swaps the two halves)
 *
 * out is [B][N] float32, t = c_noise [B] (one value per sample). EDM's defaults are
 * max_positions = 10000, endpoint = 1; N = 128 in DDPM++. N must be even (and >= 4 with endpoint).
 * Computed in double and rounded once (torch computes in float32; the difference is a rounding).
 *
 * FORWARD ONLY: c_noise depends on sigma alone, never on the network weights or the input field,
 * so no gradient flows through the embedding and no backward exists. */
#ifndef PIRF_EMBEDDING_H
#define PIRF_EMBEDDING_H

void pirf_noise_embedding_forward(float *out, const float *t, int B, int N, double max_positions,
                                  int endpoint);

#endif
