/* lr_ramp_and_ema_match_hand_computed_values: the learning-rate ramp and the EMA decay against
 * numbers worked out by hand from docs/algorithm.md §2.8:
 *
 *   lr(n) = lr * min(n / (rampup_kimg * 1000), 1)        (ramp 0 = constant)
 *   halflife = min(halflife_kimg * 1000, ratio * n);  beta = 0.5^(batch / max(halflife, 1e-8))
 *
 * 0.5^(40/20000) = 0.99861466610102889, 0.5^(40/50000) = 0.99944563597210234,
 * 0.5^(40/1000) = 0.97265494741228553 (python: 0.5 ** (40 / 20000) etc.). */
#include "pirf/optim.h"
#include "testing.h"

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  /* EDM's ramp of 10000 kimg: the first step has lr 0, half-way gives half. */
  TEST_CLOSE(pirf_lr_at(1e-3, 10000, 0), 0.0, 0, 0, "lr at n_img 0");
  TEST_CLOSE(pirf_lr_at(1e-3, 10000, 5e6), 5e-4, 1e-12, 0, "lr half-way up the ramp");
  TEST_CLOSE(pirf_lr_at(1e-3, 10000, 1e7), 1e-3, 1e-12, 0, "lr at the end of the ramp");
  TEST_CLOSE(pirf_lr_at(1e-3, 10000, 3e7), 1e-3, 1e-12, 0, "lr after the ramp");
  TEST_CLOSE(pirf_lr_at(2e-4, 10, 2500), 5e-5, 1e-12, 0, "lr on a 10 kimg ramp at 2500 images");
  TEST_CLOSE(pirf_lr_at(1e-4, 0, 0), 1e-4, 1e-12, 0, "ramp off: constant lr at n_img 0");
  TEST_CLOSE(pirf_lr_at(1e-4, 0, 123456), 1e-4, 1e-12, 0, "ramp off: constant lr later");

  /* The reference: half-life 50 kimg, ramp-up ratio 0.05, batch 40. */
  TEST_CLOSE(pirf_ema_beta(0, 40, 50, 0.05), 0.0, 0, 1e-300, "EMA beta at n_img 0 (EMA = net)");
  TEST_CLOSE(pirf_ema_beta(4e5, 40, 50, 0.05), 0.99861466610102889, 1e-14, 0,
             "EMA beta in the ramp-up (half-life 20000 images)");
  TEST_CLOSE(pirf_ema_beta(2e6, 40, 50, 0.05), 0.99944563597210234, 1e-14, 0,
             "EMA beta after the ramp-up (half-life 50000 images)");
  TEST_CLOSE(pirf_ema_beta(0, 40, 50, 0), 0.99944563597210234, 1e-14, 0,
             "EMA beta with the ramp-up off");
  TEST_CLOSE(pirf_ema_beta(1e9, 40, 1, 0.05), 0.97265494741228553, 1e-14, 0,
             "EMA beta with a 1 kimg half-life");

  float ema[3] = {1.0f, 2.0f, -4.0f};
  const float net[3] = {3.0f, -2.0f, 4.0f};
  pirf_ema_update(ema, net, 3, 0.75);
  TEST_CLOSE(ema[0], 1.5, 0, 0, "ema update 0.75*1 + 0.25*3");
  TEST_CLOSE(ema[1], 1.0, 0, 0, "ema update 0.75*2 + 0.25*(-2)");
  TEST_CLOSE(ema[2], -2.0, 0, 0, "ema update 0.75*(-4) + 0.25*4");
  pirf_ema_update(ema, net, 3, 0.0);
  TEST_CHECK(ema[0] == 3 && ema[1] == -2 && ema[2] == 4, "beta 0 copies the net");

  int rc = test_finish("lr_ramp_and_ema_match_hand_computed_values");
  MPI_Finalize();
  return rc;
}
