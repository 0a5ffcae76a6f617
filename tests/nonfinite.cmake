# Non-finite values: layers defined for every float (tests/nn/test_silu_nonfinite.c).
pirf_add_test(NAME silu_is_defined_for_every_float SOURCE tests/nn/test_silu_nonfinite.c NP 1
              TIMEOUT 60)
