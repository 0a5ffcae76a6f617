#!/usr/bin/python3
"""Time one PIRF fine-tuning iteration of the official PyTorch code on this machine's CPUs.

The comparison point of docs/performance.md ("pirf against the official code"). It imports the
network (training/networks.py: EDMPrecond around SongUNet) from a checkout of the official PIRF
repository that the user supplies (github.com/mingze-yuan/PIRF; nothing of it is part of pirf),
and runs the iteration of its finetune_loop_pirf for DRaFT-K: N - K untaped Heun steps under
torch.no_grad() in eval mode, K taped steps in train mode (dropout on), the mean squared Darcy
residual, backward, the NaN clean-up of the gradients, Adam and the EMA update. The data loader,
DDP, logging and checkpointing are left out (they are not part of an iteration's cost on one
process).

  --trainable all       every parameter trains (the README command)
  --trainable decoder0  only the decoder level at full resolution ('RxR_' blocks of model.dec, the
                        official freeze_model_except_128x128 generalized to any resolution)

Prints one JSON line per configuration: the median seconds per iteration over --reps timed
iterations (after --warmup), every iteration's time, and the peak RSS of the process.

  /usr/bin/python3 scripts/bench_official.py --official /path/to/PIRF --threads 2 \
      --resolution 32 --channels 32 --mult 1,2,2 --blocks 2 --attn 8 --batch 8 --trainable all
"""
import argparse
import copy
import json
import os
import resource
import statistics
import sys
import time


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--official", required=True, help="checkout of github.com/mingze-yuan/PIRF")
    p.add_argument("--threads", type=int, default=os.cpu_count(), help="torch intra-op threads")
    p.add_argument("--resolution", type=int, default=128)
    p.add_argument("--channels", type=int, default=128)
    p.add_argument("--mult", default="2,2,2")
    p.add_argument("--blocks", type=int, default=4)
    p.add_argument("--attn", default="16", help="comma-separated attention resolutions")
    p.add_argument("--dropout", type=float, default=0.13)
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--steps", type=int, default=20, help="sampler steps N")
    p.add_argument("--k", type=int, default=2, help="DRaFT-K's K")
    p.add_argument("--trainable", choices=["all", "decoder0"], default="all")
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args()


def build(args, torch):
    sys.path.insert(0, os.path.abspath(args.official))
    try:
        from training.networks import EDMPrecond
    except ImportError as e:
        sys.exit(f"bench_official.py: cannot import training.networks from --official "
                 f"{args.official} ({e}); pass a checkout of github.com/mingze-yuan/PIRF")
    net = EDMPrecond(img_resolution=args.resolution, img_channels=2, label_dim=0,
                     model_type="SongUNet", embedding_type="positional", encoder_type="standard",
                     decoder_type="standard", channel_mult_noise=1, resample_filter=[1, 1],
                     model_channels=args.channels,
                     channel_mult=[int(m) for m in args.mult.split(",")],
                     num_blocks=args.blocks,
                     attn_resolutions=[int(a) for a in args.attn.split(",") if a],
                     dropout=args.dropout, use_fp16=False)
    net.train().requires_grad_(True)
    if args.trainable == "decoder0":
        top = f"{args.resolution}x{args.resolution}_"
        net.requires_grad_(False)
        for name, module in net.model.dec.items():
            if name.startswith(top):
                module.requires_grad_(True)
    return net, darcy_residual(args.resolution, torch)


def darcy_residual(resolution, torch):
    """-div(a grad u) - 1 by second-order central differences, a thresholded at 7.5 to {3, 12}.

    The official reward/pde.py builds its stencils with findiff and einops, which Debian does not
    package; this stand-in does the same amount of work (a few stencil passes over the field), a
    negligible part of an iteration either way (pirf's reward phase is < 0.5 %).
    """
    h = 1.0 / resolution
    F = torch.nn.functional

    def d(f, axis, order):
        fp = F.pad(f, (1, 1, 1, 1), mode="replicate")
        c = fp[:, :, 1:-1, 1:-1]
        if axis == 0:
            lo, hi = fp[:, :, :-2, 1:-1], fp[:, :, 2:, 1:-1]
        else:
            lo, hi = fp[:, :, 1:-1, :-2], fp[:, :, 1:-1, 2:]
        return (hi - lo) / (2 * h) if order == 1 else (hi - 2 * c + lo) / (h * h)

    def residual(x):
        a, u = x.chunk(2, dim=1)
        a = (a + 1.5) / 0.2
        a = torch.where(a > 7.5, torch.full_like(a, 12.0), torch.full_like(a, 3.0))
        u = (u + 0.9) / 115
        return (-a * d(u, 0, 2) - d(a, 0, 1) * d(u, 0, 1)
                - a * d(u, 1, 2) - d(a, 1, 1) * d(u, 1, 1) - 1.0)
    return residual


def iteration(net, ema, opt, reward, sigmas, args, torch):
    """One DRaFT-K iteration as finetune_loop_pirf runs it (batch in one round)."""
    opt.zero_grad(set_to_none=True)
    n = args.steps
    x_next = torch.randn([args.batch, 2, args.resolution, args.resolution]) * sigmas[0]
    for i in range(n):
        s_cur, s_next = net.round_sigma(sigmas[i]), sigmas[i + 1]
        x_cur = x_next
        taped = i >= n - args.k
        net.train(taped)
        with torch.set_grad_enabled(taped):
            if taped:
                x_cur.requires_grad_(True)
            d_cur = (x_cur - net(x_cur, s_cur)) / s_cur
            x_next = x_cur + (s_next - s_cur) * d_cur
            if i < n - 1:
                d_prime = (x_next - net(x_next, s_next)) / s_next
                x_next = x_cur + (s_next - s_cur) * (0.5 * d_cur + 0.5 * d_prime)
    loss = reward(x_next).square().mean()
    loss.backward()
    for p in net.parameters():
        if p.grad is not None:
            torch.nan_to_num(p.grad, nan=0, posinf=1e5, neginf=-1e5, out=p.grad)
    opt.step()
    with torch.no_grad():
        for p_ema, p in zip(ema.parameters(), net.parameters()):
            p_ema.copy_(p.detach().lerp(p_ema, 0.999))
    return float(loss)


def main():
    args = parse_args()
    import torch  # Debian's python3-torch
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    net, reward = build(args, torch)
    ema = copy.deepcopy(net).eval().requires_grad_(False)
    opt = torch.optim.Adam(net.parameters(), lr=1e-4, betas=[0.9, 0.999], eps=1e-8)
    sigma_min, sigma_max, rho = max(0.002, net.sigma_min), min(80.0, net.sigma_max), 7
    idx = torch.arange(args.steps, dtype=torch.float32)
    sigmas = (sigma_max ** (1 / rho) + idx / (args.steps - 1)
              * (sigma_min ** (1 / rho) - sigma_max ** (1 / rho))) ** rho
    sigmas = torch.cat([net.round_sigma(sigmas), torch.zeros_like(sigmas[:1])])
    times = []
    for it in range(args.warmup + args.reps):
        t0 = time.perf_counter()
        loss = iteration(net, ema, opt, reward, sigmas, args, torch)
        dt = time.perf_counter() - t0
        print(f"[bench_official] iteration {it + 1}/{args.warmup + args.reps}: {dt:.3f} s "
              f"(loss {loss:.4g}){' warm-up' if it < args.warmup else ''}", file=sys.stderr)
        if it >= args.warmup:
            times.append(dt)
    trainable = sum(p.numel() for p in net.parameters() if p.requires_grad)
    print(json.dumps({
        "resolution": args.resolution, "channels": args.channels, "mult": args.mult,
        "blocks": args.blocks, "attn": args.attn, "batch": args.batch, "steps": args.steps,
        "k": args.k, "trainable": args.trainable, "trainable_params": trainable,
        "threads": args.threads, "torch": torch.__version__,
        "median_s": statistics.median(times), "times_s": times,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}))


if __name__ == "__main__":
    main()
