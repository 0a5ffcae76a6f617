# EDM pretraining: the loss (tests/pretrain/).
pirf_add_test(NAME edm_loss_matches_formula_and_directional_derivative
              SOURCE tests/pretrain/test_edm_loss_formula.c NP 1 LABELS model)
pirf_add_test(NAME edm_loss_is_rank_layout_invariant SOURCE tests/pretrain/test_edm_loss_layout.c
              NP 1 2 4 LABELS model TIMEOUT 120)
