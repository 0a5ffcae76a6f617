"""EDM's own networks (NVlabs/edm, training/networks.py, imported from a checkout, never copied)
with their float32 islands made to follow the input's dtype, so that `net.double()` really
computes in float64.

EDM computes three things in float32 whatever the module's dtype: EDMPrecond.forward casts x and
sigma to float32 (and F_x back), AttentionOp computes the softmax(Q^T K) weights and their
backward in float32, and PositionalEmbedding builds its frequencies in float32. `load(source)`
imports EDM's networks module from `source` and replaces those three with the same formulas in
the input's dtype; everything else (convolutions, group norms, the U-Net's wiring) is EDM's code
as it is. `patched_dtypes` records the dtypes the patched attention saw, so a test can check that
the comparison ran in float64.
"""
import sys

import numpy as np
import torch

patched_dtypes = set()


def load(source):
    sys.path.insert(0, source)
    from training import networks  # noqa: E402 (EDM's code)

    class AttentionOp64(torch.autograd.Function):
        """softmax(Q^T K / sqrt(C)) in the inputs' dtype; autograd differentiates it."""

        @staticmethod
        def apply(q, k):
            patched_dtypes.add(q.dtype)
            return torch.einsum("ncq,nck->nqk", q, k / np.sqrt(k.shape[1])).softmax(dim=2)

    def positional_forward(self, x):
        half = self.num_channels // 2
        freqs = torch.arange(start=0, end=half, dtype=x.dtype, device=x.device)
        freqs = freqs / (half - (1 if self.endpoint else 0))
        freqs = (1 / self.max_positions) ** freqs
        x = x.ger(freqs)
        return torch.cat([x.cos(), x.sin()], dim=1)

    def precond_forward(self, x, sigma, class_labels=None, force_fp32=False, **model_kwargs):
        """EDMPrecond's preconditioning (Karras et al. 2022, Table 1) in x's dtype."""
        sigma = sigma.to(x.dtype).reshape(-1, 1, 1, 1)
        sd = self.sigma_data
        c_skip = sd ** 2 / (sigma ** 2 + sd ** 2)
        c_out = sigma * sd / (sigma ** 2 + sd ** 2).sqrt()
        c_in = 1 / (sd ** 2 + sigma ** 2).sqrt()
        c_noise = sigma.log() / 4
        F_x = self.model(c_in * x, c_noise.flatten(), class_labels=None, **model_kwargs)
        return c_skip * x + c_out * F_x

    networks.AttentionOp = AttentionOp64  # UNetBlock.forward looks the name up at call time
    networks.PositionalEmbedding.forward = positional_forward
    networks.EDMPrecond.forward = precond_forward
    return networks


def ddpmpp(networks, R, C, channels, channel_mult, num_blocks, attn, dropout=0.0):
    """EDMPrecond with the DDPM++ SongUNet settings pirf implements."""
    return networks.EDMPrecond(img_resolution=R, img_channels=C, model_type="SongUNet",
                               model_channels=channels, channel_mult=list(channel_mult),
                               num_blocks=num_blocks, attn_resolutions=list(attn), dropout=dropout,
                               channel_mult_noise=1, embedding_type="positional",
                               encoder_type="standard", decoder_type="standard",
                               resample_filter=[1, 1])
