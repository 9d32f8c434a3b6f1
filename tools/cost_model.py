#!/usr/bin/env python3
"""Ring all-reduce cost model for data-parallel (DDP-style) training: what the gradient all-reduce costs per step,
and the scaling efficiency that leaves, for Eta's two deep models on a few interconnects at N = 8, 64, 512 ranks.

Model (the alpha-beta or Hockney model of a ring all-reduce, as a reduce-scatter then an all-gather: Thakur,
Rabenseifner & Gropp, "Optimization of Collective Communication Operations in MPICH", IJHPCA 19(1):49-66, 2005):

    T_allreduce(N) = 2(N-1) * alpha + 2(N-1)/N * bytes / beta
    T_step(N)      = T_compute + T_allreduce(N)                      (no overlap)
    E(N)           = T_compute / T_step(N)
    E_overlap(N)   = T_compute / max(T_compute, T_allreduce(N))      (communication fully hidden behind compute)

alpha: the latency of one ring step; beta: the bandwidth per direction per rank (in the units of NCCL's "bus
bandwidth", which is exactly the beta of this model: busbw = algbw * 2(N-1)/N). bytes: the gradients, parameter
count x 4 (float32, as Eta and DDP exchange them; --bytes-per-param 2 for bf16/fp16). With DDP-style buckets of
--bucket-mib (25 MiB, DDP's bucket_cap_mb and Eta's default) the latency term is paid once per bucket; both models
here fit in one bucket. Weak scaling: the per-rank batch, hence T_compute, does not change with N.

E is a lower and E_overlap an upper bound: DDP (and Eta) start each bucket's all-reduce during the backward pass,
so communication can hide only behind the backward pass (about 2/3 of a step), not the forward pass and update.

Topologies. N <= --gpus-per-node (8): a flat ring over the interconnect (for the network presets, one GPU per
node). N > 8: hierarchical (as in Jia et al. 2018, arXiv:1807.11205, and NCCL's ring across nodes): a reduce-scatter
over NVLink 4 inside each node of 8 GPUs, an all-reduce of each GPU's 1/8 shard across the N/8 nodes over the
network (8 rings in parallel, one NIC per GPU as in a DGX H100; --nics-per-node K < 8 shares K NICs), and an
all-gather over NVLink:
    T = 2(G-1) alpha_nvl + 2(G-1)/G bytes/beta_nvl + 2(M-1) alpha_net + 2(M-1)/M bytes/(K beta_net),  G=8, M=N/8.
The `loopback` figures (--alpha-us, --beta-gbps: one host's MPI over shared memory, measured with Eta's allreduce
bench) are used as a flat ring at every N: an extrapolation, not a prediction for a cluster.
A ring's latency term grows linearly with N; for small messages at large N, NCCL switches to trees (latency
~ log N) and low-latency protocols, so the ring model is pessimistic there. The alpha values below are
order-of-magnitude assumptions taken from NCCL's own tuning model, not measurements.

Compute time (--compute): `cpu` (default): the Eta step times measured by the lead on this project's 2-core CPU at
batch 64: CNN 27.6 ms, GPT 162.9 ms. `h100-estimate`: rough guesses for a launch-bound eager step of these tiny
models on an H100-class GPU (CNN 0.5 ms, GPT 2 ms at batch 64; NOT measured: an H100 runs these steps 50-100x
faster than this CPU, which makes communication matter far more). Measure and pass --compute-ms cnn=MS,gpt=MS.

Parameter counts come from building the PyTorch twins of the Eta SPECs (tools/torch_models.py) and summing
numel: the CNN `cnn:channels=32/64,kernel=3,hidden=128` on 1x28x28 MNIST with 10 classes, and the GPT
`gpt:layers=4,heads=4,embed=128,context=128` with vocabulary 65 (the built-in Shakespeare's characters).

Usage:
  python3 tools/cost_model.py [--ranks 8,64,512] [--compute cpu|h100-estimate] [--compute-ms cnn=27.6,gpt=162.9]
      [--alpha-us A --beta-gbps B] [--preset NAME=ALPHA_US,BETA_GBPS ...] [--gpus-per-node 8] [--nics-per-node 8]
      [--bytes-per-param 4] [--bucket-mib 25] [--markdown | --json]
--alpha-us/--beta-gbps (microseconds, GB/s = 1e9 bytes/s) add the `loopback` interconnect; --preset overrides a
preset's alpha and beta. --markdown prints a table to paste into the README.
Needs: torch (pip install torch numpy); imports tools/torch_models.py.
"""
import argparse
import json
import math
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import torch_models  # noqa: E402

MODELS = [
    # name, SPEC, input shape (None: tokens), classes or vocabulary
    ("cnn", "cnn:channels=32/64,kernel=3,hidden=128", "1x28x28", 10),
    ("gpt", "gpt:layers=4,heads=4,embed=128,context=128", None, 65),
]

# Milliseconds per training step at batch 64 per rank.
COMPUTE_PRESETS = {
    # Measured by the lead: Eta's CPU backend on this project's 2-core machine, batch 64.
    "cpu": {"cnn": 27.6, "gpt": 162.9},
    # Guesses, not measurements: an eager step of these small models on an H100 is bound by kernel launches
    # (tens to hundreds of kernels at several microseconds each), not by FLOPs (the CNN is ~1.6 GFLOP per step
    # at batch 64, the GPT ~45 GFLOP). Replace with measured figures via --compute-ms.
    "h100-estimate": {"cnn": 0.5, "gpt": 2.0},
}

# Interconnects: alpha (microseconds per ring step), beta (GB/s per direction per rank, 1 GB = 1e9 bytes).
# alpha: NCCL's tuning model (src/graph/tuning.cc, hwLat: per-hop latency of a ring step by link and protocol,
# e.g. NVLink ring LL/LL128/Simple 0.5/1.9/3.4 us, network ring 2.7/4.0/9.6-14 us, depending on the NCCL
# version) gives the order of magnitude; these are assumptions, to be replaced by measurements.
PRESETS = {
    # NVLink 4 on H100 SXM: 18 links, 900 GB/s bidirectional per GPU (NVIDIA H100 Tensor Core GPU datasheet,
    # https://www.nvidia.com/en-us/data-center/h100/), i.e. 450 GB/s per direction. NCCL all-reduce bus
    # bandwidth within an 8-GPU node is commonly reported at about 360-480 GB/s (nccl-tests, whose busbw is this
    # model's beta: https://github.com/NVIDIA/nccl-tests/blob/master/doc/PERFORMANCE.md); 360 is the
    # conservative end. alpha 2 us: between NCCL's NVLink LL128 and Simple ring-step latencies.
    "nvlink4": {"alpha_us": 2.0, "beta_gbps": 360.0, "label": "NVLink 4 (H100 SXM)", "scope": "intra"},
    # InfiniBand NDR: 400 Gb/s = 50 GB/s per port per direction (NVIDIA ConnectX-7 / Quantum-2,
    # https://www.nvidia.com/en-us/networking/quantum2/); a DGX H100 has 8 single-port ConnectX-7 NDR adapters
    # for the compute fabric, one per GPU (DGX H100 user guide, https://docs.nvidia.com/dgx/dgxh100-user-guide/).
    # Line rate; achieved all-reduce bus bandwidth is typically 80-95% of it. alpha 5 us: NCCL network ring step.
    "ib-ndr": {"alpha_us": 5.0, "beta_gbps": 50.0, "label": "InfiniBand NDR 400 Gb/s", "scope": "inter"},
    # 100 Gigabit Ethernet (IEEE 802.3ba/802.3bj): 12.5 GB/s per direction, line rate. alpha 15 us: an assumption
    # for TCP sockets between hosts (RoCE would be closer to InfiniBand's).
    "100gbe": {"alpha_us": 15.0, "beta_gbps": 12.5, "label": "100 GbE", "scope": "inter"},
}


def parameter_count(spec, shape, outputs):
    module = torch_models.build(spec, shape, outputs)
    return sum(p.numel() for p in module.parameters())


def ring_allreduce(n, alpha_s, beta_bps, size, buckets=1):
    """Seconds for a ring all-reduce of `size` bytes over n ranks (latency paid per bucket)."""
    if n <= 1:
        return 0.0
    return buckets * 2 * (n - 1) * alpha_s + 2 * (n - 1) / n * size / beta_bps


def hierarchical_allreduce(n, g, k, intra, inter, size, buckets=1):
    """Reduce-scatter within nodes of g ranks, all-reduce of each 1/g shard across n/g nodes over k NICs per node,
    all-gather within nodes."""
    m = n // g
    within = ring_allreduce(g, intra[0], intra[1], size, buckets)  # reduce-scatter + all-gather, both in-node
    across = 0.0
    if m > 1:
        across = buckets * 2 * (m - 1) * inter[0] + 2 * (m - 1) / m * size / (k * inter[1])
    return within + across


def parse_pairs(text, what):
    """'cnn=27.6,gpt=5' -> {'cnn': 27.6, 'gpt': 5.0}"""
    values = {}
    for part in text.split(","):
        if not part.strip():
            continue
        key, eq, value = part.partition("=")
        if not eq:
            raise SystemExit(f"{what}: expected NAME=VALUE, got '{part}'")
        values[key.strip()] = float(value)
    return values


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ranks", default="8,64,512", help="N values (default 8,64,512)")
    parser.add_argument("--compute", choices=sorted(COMPUTE_PRESETS), default="cpu",
                        help="per-step compute time preset (default cpu: measured on the 2-core CPU)")
    parser.add_argument("--compute-ms", default="", help="override per model, e.g. cnn=0.8,gpt=3.1 (ms per step)")
    parser.add_argument("--alpha-us", type=float, help="loopback latency per ring step (us), measured")
    parser.add_argument("--beta-gbps", type=float, help="loopback bandwidth (GB/s), measured")
    parser.add_argument("--preset", action="append", default=[], metavar="NAME=ALPHA_US,BETA_GBPS",
                        help="override a preset's alpha and beta, e.g. ib-ndr=3,45")
    parser.add_argument("--gpus-per-node", type=int, default=8, help="ranks per node for N above it (default 8)")
    parser.add_argument("--nics-per-node", type=int, help="network ports per node (default: one per GPU)")
    parser.add_argument("--bytes-per-param", type=int, default=4, help="gradient bytes per parameter (default 4)")
    parser.add_argument("--bucket-mib", type=float, default=25.0, help="all-reduce bucket size (default 25 MiB)")
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--markdown", action="store_true", help="a markdown table (for the README)")
    output.add_argument("--json", action="store_true", help="one JSON object")
    args = parser.parse_args()

    ranks = [int(v) for v in args.ranks.split(",") if v.strip()]
    g = args.gpus_per_node
    k = args.nics_per_node or g
    if g < 1 or k < 1 or any(n < 1 for n in ranks):
        parser.error("--ranks, --gpus-per-node and --nics-per-node must be positive")
    for n in ranks:
        if n > g and n % g:
            parser.error(f"N={n} is not a multiple of --gpus-per-node {g}")
    if (args.alpha_us is None) != (args.beta_gbps is None):
        parser.error("--alpha-us and --beta-gbps go together (the loopback figures)")

    presets = {name: dict(p) for name, p in PRESETS.items()}
    for override in args.preset:
        name, eq, values = override.partition("=")
        parts = values.split(",")
        if not eq or name not in presets or len(parts) != 2:
            parser.error(f"--preset {override}: expected NAME=ALPHA_US,BETA_GBPS with NAME in {', '.join(presets)}")
        presets[name].update(alpha_us=float(parts[0]), beta_gbps=float(parts[1]), overridden=True)
    if args.alpha_us is not None:
        presets["loopback"] = {"alpha_us": args.alpha_us, "beta_gbps": args.beta_gbps,
                               "label": "loopback (measured, one host)", "scope": "flat"}

    def link(name):
        p = presets[name]
        return p["alpha_us"] * 1e-6, p["beta_gbps"] * 1e9

    compute = dict(COMPUTE_PRESETS[args.compute])
    compute.update(parse_pairs(args.compute_ms, "--compute-ms"))
    models = []
    for name, spec, shape, outputs in MODELS:
        params = parameter_count(spec, shape, outputs)
        size = params * args.bytes_per_param
        buckets = max(1, math.ceil(size / (args.bucket_mib * 2 ** 20)))
        models.append({"name": name, "spec": spec, "parameters": params, "bytes": size, "buckets": buckets,
                       "compute_ms": compute[name]})

    rows = []
    for n in ranks:
        # (interconnect name, topology description, function of (bytes, buckets) -> seconds)
        scenarios = []
        if n <= g:
            scenarios.append(("nvlink4", f"flat ring, 1 node of {n}",
                              lambda s, b, n=n: ring_allreduce(n, *link("nvlink4"), s, b)))
            for net in ("ib-ndr", "100gbe"):
                scenarios.append((net, f"flat ring, {n} nodes x 1 GPU",
                                  lambda s, b, n=n, net=net: ring_allreduce(n, *link(net), s, b)))
        else:
            for net in ("ib-ndr", "100gbe"):
                scenarios.append((f"nvlink4+{net}", f"hierarchical, {n // g} nodes x {g} GPUs, {k} NICs/node",
                                  lambda s, b, n=n, net=net: hierarchical_allreduce(n, g, k, link("nvlink4"),
                                                                                    link(net), s, b)))
        if "loopback" in presets:
            scenarios.append(("loopback", "flat ring (extrapolated)",
                              lambda s, b, n=n: ring_allreduce(n, *link("loopback"), s, b)))
        for interconnect, topology, cost in scenarios:
            row = {"ranks": n, "interconnect": interconnect, "topology": topology, "models": {}}
            for m in models:
                t_ar = cost(m["bytes"], m["buckets"])
                t_c = m["compute_ms"] * 1e-3
                row["models"][m["name"]] = {
                    "allreduce_ms": t_ar * 1e3,
                    "efficiency": t_c / (t_c + t_ar),
                    "efficiency_overlap": t_c / max(t_c, t_ar),
                }
            rows.append(row)

    assumptions = [
        "T_allreduce(N) = 2(N-1)·α + 2(N-1)/N · bytes/β (ring: reduce-scatter + all-gather; Thakur, Rabenseifner & "
        "Gropp 2005); E = T_compute / (T_compute + T_allreduce) with no overlap; E_overlap = T_compute / "
        "max(T_compute, T_allreduce) with communication fully hidden behind compute (an upper bound: DDP and Eta "
        "overlap only with the backward pass).",
        f"Weak scaling: batch 64 per rank at every N; gradients {args.bytes_per_param} bytes per parameter, "
        f"{args.bucket_mib:g} MiB buckets (α paid per bucket).",
        f"N ≤ {g}: one flat ring (network presets: one GPU per node). N > {g}: hierarchical: NVLink 4 reduce-scatter "
        f"and all-gather within nodes of {g} GPUs, ring all-reduce of each GPU's 1/{g} shard across N/{g} nodes "
        f"over {k} NIC(s) per node.",
        "Ring latency grows linearly with N; at large N NCCL would use trees (log N), so large-N figures for these "
        "small messages are pessimistic. α values are assumptions of the right order (NCCL's tuning model), β are "
        "line rates or typical bus bandwidths.",
        "Compute per step: " + ", ".join(f"{m['name']} {m['compute_ms']:g} ms" for m in models) + " "
        + ("(given with --compute-ms)." if args.compute_ms else
           "(measured: Eta on the 2-core CPU)." if args.compute == "cpu" else
           "(h100-estimate: rough guesses for an H100, not measurements)."),
    ]
    links = [f"{name}: α {p['alpha_us']:g} µs, β {p['beta_gbps']:g} GB/s ({p['label']}"
             f"{', overridden' if p.get('overridden') else ''})" for name, p in presets.items()]

    if args.json:
        print(json.dumps({"models": models, "interconnects": presets, "gpus_per_node": g, "nics_per_node": k,
                          "compute_preset": args.compute, "rows": rows, "assumptions": assumptions}, indent=2))
        return 0

    names = [m["name"] for m in models]
    if args.markdown:
        print("Ring all-reduce cost model: " + "; ".join(
            f"{m['name'].upper()} `{m['spec']}` {m['parameters']:,} parameters ({m['bytes'] / 1e6:.2f} MB of "
            f"gradients), {m['compute_ms']:g} ms compute per step" for m in models) + ".")
        print()
        header = ["N", "interconnect", "topology"]
        for name in names:
            header += [f"{name.upper()} all-reduce", f"{name.upper()} E", f"{name.upper()} E overlap"]
        print("| " + " | ".join(header) + " |")
        print("|" + "|".join(["---:", ":---", ":---"] + ["---:"] * (3 * len(names))) + "|")
        for row in rows:
            cells = [str(row["ranks"]), row["interconnect"], row["topology"]]
            for name in names:
                r = row["models"][name]
                cells += [format_ms(r["allreduce_ms"]), f"{100 * r['efficiency']:.1f}%",
                          f"{100 * r['efficiency_overlap']:.1f}%"]
            print("| " + " | ".join(cells) + " |")
        print()
        for line in assumptions + ["Interconnects: " + "; ".join(links) + "."]:
            print(f"- {line}")
        return 0

    for m in models:
        print(f"{m['name']}: {m['spec']}, {m['parameters']:,} parameters, {m['bytes'] / 1e6:.3f} MB of gradients "
              f"in {m['buckets']} bucket(s), compute {m['compute_ms']:g} ms/step")
    for line in links:
        print(f"  {line}")
    print()
    header = f"{'N':>5s}  {'interconnect':16s} {'topology':44s}"
    for name in names:
        header += f" {name + ' all-reduce':>15s} {'E':>6s} {'E ovl':>6s}"
    print(header)
    for row in rows:
        line = f"{row['ranks']:5d}  {row['interconnect']:16s} {row['topology']:44s}"
        for name in names:
            r = row["models"][name]
            line += (f" {format_ms(r['allreduce_ms']):>15s} {100 * r['efficiency']:5.1f}%"
                     f" {100 * r['efficiency_overlap']:5.1f}%")
        print(line)
    print()
    for line in assumptions:
        print(f"* {line}")
    return 0


def format_ms(ms):
    return f"{ms * 1e3:.1f} µs" if ms < 1 else f"{ms:.2f} ms"


if __name__ == "__main__":
    sys.exit(main())
