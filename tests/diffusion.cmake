# Diffusion layer: schedule, Heun sampler, reverse mode through sampler steps.
pirf_add_test(NAME heun_sampler_and_chain SOURCE tests/diffusion/test_sampler.c NP 1)
pirf_add_test(NAME weight_regularization SOURCE tests/diffusion/test_weight_reg.c NP 1)
pirf_add_test(NAME fidelity_measures_known_differences SOURCE tests/diffusion/test_fidelity.c NP 1 2 4)
pirf_add_test(NAME fidelity_measures_known_differences_2x2 SOURCE tests/diffusion/test_fidelity.c NP 4 ARGS 2x2)
