# The SongUNet model: parameter table, forward/backward, preconditioning (tests/model/).
pirf_add_test(NAME unet_param_counts_match_edm SOURCE tests/model/test_unet_param_counts.c NP 1
              LABELS model)
