# PIRF fine-tuning (tests/finetune/): the gradient of the whole sampler + reward, layouts, the command.
pirf_add_test(NAME pirf_gradient_matches_finite_differences_and_layouts
              SOURCE tests/finetune/test_ft_gradient.c NP 1 2 4 LABELS finetune TIMEOUT 300)
