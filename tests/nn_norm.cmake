# Layer tests of the nn-norm family: GroupNorm, SiLU, Linear, noise embedding, dropout, attention.
# The layout-dependent layers run at 1, 2 and 4 ranks; each run also covers every tile layout
# that rank count allows (at 4: [2,2] and 2 data groups x [2,1] / [1,2]).
pirf_add_test(NAME groupnorm SOURCE tests/nn/test_groupnorm.c NP 1 2 4 TIMEOUT 60)
pirf_add_test(NAME attention SOURCE tests/nn/test_attention.c NP 1 2 4 TIMEOUT 60)
pirf_add_test(NAME dropout SOURCE tests/nn/test_dropout.c NP 1 2 4 TIMEOUT 60)
pirf_add_test(NAME silu SOURCE tests/nn/test_silu.c NP 1 TIMEOUT 60)
pirf_add_test(NAME linear SOURCE tests/nn/test_linear.c NP 1 TIMEOUT 60)
pirf_add_test(NAME embedding SOURCE tests/nn/test_embedding.c NP 1 TIMEOUT 60)
pirf_add_test(NAME gelu SOURCE tests/nn/test_gelu.c NP 1 TIMEOUT 60)
