# Optimizer (sharded Adam, LR ramp, EMA) and checkpoints: tests/optim/.
pirf_add_test(NAME adam_matches_reference_values SOURCE tests/optim/test_adam_reference.c NP 1 2 4)
pirf_add_test(NAME sharded_adam_matches_unsharded_update SOURCE tests/optim/test_adam_sharded.c
              NP 1 2 4)
pirf_add_test(NAME adam_guard_replaces_nonfinite_gradients SOURCE tests/optim/test_adam_guard.c
              NP 1 2 4)
pirf_add_test(NAME lr_ramp_and_ema_match_hand_computed_values SOURCE tests/optim/test_lr_ema.c NP 1)
pirf_add_test(NAME checkpoint_roundtrip_is_exact SOURCE tests/optim/test_checkpoint_roundtrip.c
              NP 1 2 4)
pirf_add_test(NAME checkpoint_loads_on_a_different_layout SOURCE tests/optim/test_checkpoint_layout.c
              NP 2 4)
pirf_add_test(NAME checkpoint_mismatch_is_a_user_error SOURCE tests/optim/test_checkpoint_mismatch.c
              NP 1 2)
pirf_add_test(NAME checkpoint_resume_continues_training_exactly
              SOURCE tests/optim/test_checkpoint_resume.c NP 2 4)
