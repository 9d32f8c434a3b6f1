#!/usr/bin/env python3
"""Data-parallel training speed: Eta under `mpirun -np N` against PyTorch DistributedDataParallel (gloo), on the
same model, the same per-rank and global batch, the same optimizer and the same number of optimizer steps.

Models (tools/torch_models.py builds the PyTorch twin of each Eta SPEC):
  --model mlp   mlp:hidden=128 on --dataset digits (64 features, 10 classes; Eta's default model)
  --model cnn   cnn:channels=32/64,kernel=3,hidden=128 on --dataset idx:/tmp/mnist (1x28x28, 10 classes;
                tools/get-mnist.sh /tmp/mnist fetches MNIST)
--spec overrides the SPEC (same input shape). --batch-size is PER RANK, as in PyTorch DDP and in `eta train`
under mpirun: the global batch is N x batch.

Eta: `mpirun -np N ETA train --dataset D --model SPEC --batch-size B --steps S --val-fraction 0 --optimizer
adam:lr=LR --device cpu --format json --quiet`; its figures come from the JSON summary that rank 0 prints:
samples_per_second (samples of all ranks over wall_seconds), wall_seconds, steps, train_loss and, when present,
communication_seconds, world_size, global_batch_size. Each Eta rank picks its own thread count (the host's cores
over the ranks on the host). As root, OMPI_ALLOW_RUN_AS_ROOT(_CONFIRM)=1 are set for mpirun unless already set.

PyTorch: N processes started with torch.multiprocessing.spawn (MASTER_ADDR=127.0.0.1, a free MASTER_PORT,
backend gloo), each with torch.set_num_threads(cores / N) (--torch-threads) and, unless --no-bind, pinned to one
core as Open MPI's default binding does for Eta's ranks (np <= 2: bind to core). DDP(model), torch.optim.Adam
(lr 1e-3 by default), mean cross-entropy, zero_grad(set_to_none=True). The data are RANDOM float32 tensors of the
right shape held in memory (digits: 898 rows x 64 features per rank; MNIST: 30000 x 1x28x28 per rank, 10
classes), reshuffled each epoch and cut into full batches: only speed is compared, so the values do not matter
(no digits CSV or scikit-learn is needed on the PyTorch side). Timed: --steps steps after --warmup untimed steps,
between two dist.barrier() calls, on rank 0; samples/s = steps x global batch / seconds.

What each side's time includes (the difference favours PyTorch slightly):
  Eta's wall_seconds starts when its training loop starts (after process start, MPI_Init, data loading and model
  set-up) and ends after the last step; it includes the initial parameter broadcast, the first (cold) steps, the
  per-epoch shuffled-data upload, the loss read-back every --log-every (10) steps and a partial last batch at an
  epoch's end (digits: 1797 rows; samples_per_second counts the samples actually trained). It does not include
  the test-set evaluation that follows a completed idx: run.
  PyTorch's time excludes interpreter and torch import, spawn, process-group set-up and --warmup steps.
  The whole `mpirun` command's time is reported too (eta_process_seconds) to show Eta's start-up cost.
Run on an idle machine: N ranks share the cores, and any other busy process distorts both sides. The best (highest
samples/s) of --repeats runs of each is reported; the runs are interleaved (Eta, PyTorch, Eta, ...).

Usage:
  python3 tools/compare_ddp.py [--eta .build/release/eta] [--model mlp|cnn] [--dataset D] [--np 2]
      [--batch-size 32] [--steps 200] [--repeats 3] [--lr 1e-3] [--warmup 5] [--torch-threads T] [--no-bind]
      [--mpirun-args '...'] [--eta-device cpu] [--seed 0] [--timeout 600]
Output: a small table, then one JSON line (the last line of stdout) with both sides' figures and the ratio
eta_over_torch (samples/s of Eta over PyTorch's: above 1, Eta is faster).
Needs: Open MPI's mpirun, an eta build with MPI support, torch (pip install torch numpy); imports
tools/torch_models.py.
"""
import argparse
import json
import os
import pathlib
import shlex
import socket
import subprocess
import sys
import tempfile
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import torch_models  # noqa: E402

# name -> (Eta SPEC, default dataset, input shape, classes, rows of the dataset's training split with
# --val-fraction 0: digits has 1797 rows, MNIST's training files 60000)
MODELS = {
    "mlp": ("mlp:hidden=128", "digits", (64,), 10, 1797),
    "cnn": ("cnn:channels=32/64,kernel=3,hidden=128", "idx:/tmp/mnist", (1, 28, 28), 10, 60000),
}


# ---------------------------------------------------------------------------------------------------------------
# Eta


def eta_environment():
    environment = dict(os.environ)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        environment.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
        environment.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
    return environment


def parse_json_output(text):
    """The JSON object Eta printed on stdout (pretty-printed, possibly after other lines)."""
    text = text.strip()
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        start = text.find("{")
        if start < 0:
            raise
        value, _ = json.JSONDecoder().raw_decode(text[start:])
        return value


def run_eta(args, spec, dataset):
    command = (["mpirun", "-np", str(args.np)] + shlex.split(args.mpirun_args) +
               [args.eta, "train", "--dataset", dataset, "--model", spec, "--batch-size", str(args.batch_size),
                "--steps", str(args.steps), "--val-fraction", "0", "--optimizer", f"adam:lr={args.lr:g}",
                "--seed", str(args.seed), "--format", "json", "--quiet"])
    if args.eta_device:
        command += ["--device", args.eta_device]
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, env=eta_environment(), timeout=args.timeout)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        sys.stderr.write(result.stderr[-4000:])
        raise SystemExit(f"eta failed (exit {result.returncode}): {shlex.join(command)}")
    summary = parse_json_output(result.stdout)
    if summary.get("steps") != args.steps:
        raise SystemExit(f"eta ran {summary.get('steps')} steps, not {args.steps} (status {summary.get('status')})")
    world = summary.get("world_size")
    if world is not None and world != args.np:
        raise SystemExit(f"eta reports world_size {world}, not {args.np}: was it built with MPI support?")
    summary["process_seconds"] = elapsed
    summary["command"] = shlex.join(command)
    return summary


# ---------------------------------------------------------------------------------------------------------------
# PyTorch DDP


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def torch_worker(rank, world, port, config, result_path):
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(port)
    if config["bind"] and hasattr(os, "sched_setaffinity"):
        cpus = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpus[rank % len(cpus)]})
    torch.set_num_threads(config["threads"])
    torch.set_num_interop_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        torch.manual_seed(config["seed"])  # DDP broadcasts rank 0's parameters anyway
        shape, classes, batch = tuple(config["shape"]), config["classes"], config["batch"]
        model = torch_models.build(config["spec"], shape, classes)
        model.train()
        ddp = torch.nn.parallel.DistributedDataParallel(model)
        optimizer = torch.optim.Adam(ddp.parameters(), lr=config["lr"])
        # Random data of the dataset's shape: this rank's shard of the training rows (only speed is compared).
        generator = torch.Generator().manual_seed(config["seed"] * 1000 + rank)
        rows = max(batch, config["rows"] // world)
        inputs = torch.rand(rows, *shape, generator=generator)
        targets = torch.randint(0, classes, (rows,), generator=generator)
        batches_per_epoch = rows // batch
        state = {"order": None, "index": batches_per_epoch}

        def next_batch():
            if state["index"] >= batches_per_epoch:
                state["order"] = torch.randperm(rows, generator=generator)
                state["index"] = 0
            picked = state["order"][state["index"] * batch:(state["index"] + 1) * batch]
            state["index"] += 1
            return inputs.index_select(0, picked), targets.index_select(0, picked)

        def step():
            x, y = next_batch()
            optimizer.zero_grad(set_to_none=True)
            loss = F.cross_entropy(ddp(x), y)
            loss.backward()
            optimizer.step()
            return loss

        for _ in range(config["warmup"]):
            step()
        dist.barrier()
        start = time.perf_counter()
        for _ in range(config["steps"]):
            loss = step()
        dist.barrier()
        seconds = time.perf_counter() - start
        if rank == 0:
            samples = config["steps"] * batch * world
            result = {"seconds": seconds, "samples_per_second": samples / seconds, "steps": config["steps"],
                      "train_loss": float(loss.item()), "threads": torch.get_num_threads(),
                      "parameters": sum(p.numel() for p in model.parameters())}
            with open(result_path, "w") as f:
                json.dump(result, f)
        dist.barrier()
    finally:
        dist.destroy_process_group()
    # This torch's gloo process group can abort at interpreter exit ("terminate called without an active exception",
    # SIGABRT, after a clean destroy_process_group; seen with torch 2.15 in about 1 run in 4): the result is written,
    # so leave without the interpreter's teardown. spawn reads exit status 0 as success.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def run_torch(args, spec, shape, classes, rows):
    config = {"spec": spec, "shape": list(shape), "classes": classes, "rows": rows, "batch": args.batch_size,
              "steps": args.steps, "warmup": args.warmup, "lr": args.lr, "seed": args.seed,
              "threads": args.torch_threads, "bind": not args.no_bind}
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "result.json")
        start = time.perf_counter()
        mp.spawn(torch_worker, args=(args.np, free_port(), config, path), nprocs=args.np, join=True)
        elapsed = time.perf_counter() - start
        with open(path) as f:
            result = json.load(f)
    result["process_seconds"] = elapsed
    return result


# ---------------------------------------------------------------------------------------------------------------


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--eta", default=str(HERE.parent / ".build" / "release" / "eta"))
    parser.add_argument("--model", choices=sorted(MODELS), default="mlp")
    parser.add_argument("--spec", help="override the model SPEC (same input shape as --model's)")
    parser.add_argument("--dataset", help="Eta's dataset (default: digits for mlp, idx:/tmp/mnist for cnn)")
    parser.add_argument("--np", type=int, default=2, help="ranks on each side (default 2)")
    parser.add_argument("--batch-size", type=int, default=32, help="PER RANK (default 32; global = np x this)")
    parser.add_argument("--steps", type=int, default=200, help="optimizer steps (default 200)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each, interleaved; the best counts")
    parser.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate on both sides (default 1e-3)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed PyTorch steps first (default 5)")
    parser.add_argument("--torch-threads", type=int, help="threads per PyTorch rank (default cores / np, min 1)")
    parser.add_argument("--no-bind", action="store_true", help="do not pin each PyTorch rank to one core")
    parser.add_argument("--mpirun-args", default="", help="extra mpirun arguments, e.g. '--bind-to none'")
    parser.add_argument("--eta-device", default="cpu", help="eta --device (default cpu; '' for Eta's default)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=600, help="seconds allowed per Eta run (default 600)")
    args = parser.parse_args()
    if args.np < 1 or args.batch_size < 1 or args.steps < 1 or args.repeats < 1 or args.warmup < 0:
        parser.error("--np, --batch-size, --steps and --repeats must be positive, --warmup not negative")
    if args.torch_threads is None:
        args.torch_threads = max(1, (os.cpu_count() or 1) // args.np)
    if not os.access(args.eta, os.X_OK):
        parser.error(f"no eta binary at {args.eta} (build it, or pass --eta)")

    default_spec, default_dataset, shape, classes, rows = MODELS[args.model]
    spec = args.spec or default_spec
    dataset = args.dataset or default_dataset
    global_batch = args.np * args.batch_size

    eta_runs, torch_runs = [], []
    for repeat in range(args.repeats):
        eta_runs.append(run_eta(args, spec, dataset))
        torch_runs.append(run_torch(args, spec, shape, classes, rows))
        print(f"run {repeat + 1}/{args.repeats}: Eta {eta_runs[-1]['samples_per_second']:.1f} samples/s, "
              f"PyTorch {torch_runs[-1]['samples_per_second']:.1f} samples/s", file=sys.stderr)
    eta = max(eta_runs, key=lambda r: r["samples_per_second"])
    torch_best = max(torch_runs, key=lambda r: r["samples_per_second"])
    ratio = eta["samples_per_second"] / torch_best["samples_per_second"]
    eta_samples_per_step = eta["samples_per_second"] * eta["wall_seconds"] / eta["steps"]
    communication = eta.get("communication_seconds")

    load = os.getloadavg()[0]
    print(f"{spec} on {dataset}: {args.np} ranks x batch {args.batch_size} (global {global_batch}), "
          f"{args.steps} steps, Adam lr {args.lr:g}, best of {args.repeats}")
    print(f"  {'':22s} {'samples/s':>12s} {'train s':>9s} {'ms/step':>8s} {'comm s':>8s} {'process s':>10s}")
    comm = f"{communication:8.4f}" if communication is not None else f"{'-':>8s}"
    print(f"  {'Eta (mpirun)':22s} {eta['samples_per_second']:12.1f} {eta['wall_seconds']:9.3f} "
          f"{1e3 * eta['wall_seconds'] / eta['steps']:8.2f} {comm} {eta['process_seconds']:10.2f}")
    print(f"  {'PyTorch DDP (gloo)':22s} {torch_best['samples_per_second']:12.1f} {torch_best['seconds']:9.3f} "
          f"{1e3 * torch_best['seconds'] / args.steps:8.2f} {'-':>8s} {torch_best['process_seconds']:10.2f}")
    print(f"  Eta / PyTorch: {ratio:.2f}x (samples/s; above 1: Eta is faster)")
    print(f"  Eta device: {eta.get('device')}; PyTorch {torch.__version__}, {torch_best['threads']} thread(s) per "
          f"rank{'' if args.no_bind else ', one core each'}; load average {load:.2f}")
    if communication is not None and eta["wall_seconds"] > 0:
        print(f"  Eta communication: {communication:.4f} s of {eta['wall_seconds']:.4f} s "
              f"({100 * communication / eta['wall_seconds']:.1f}%)")
    result = {
        "model": spec, "dataset": dataset, "np": args.np, "batch_size_per_rank": args.batch_size,
        "global_batch_size": global_batch, "steps": args.steps, "repeats": args.repeats, "lr": args.lr,
        "eta_samples_per_second": eta["samples_per_second"], "eta_wall_seconds": eta["wall_seconds"],
        "eta_communication_seconds": communication, "eta_process_seconds": eta["process_seconds"],
        "eta_samples_per_step": eta_samples_per_step, "eta_train_loss": eta.get("train_loss"),
        "eta_world_size": eta.get("world_size"), "eta_global_batch_size": eta.get("global_batch_size"),
        "eta_device": eta.get("device"),
        "torch_samples_per_second": torch_best["samples_per_second"], "torch_seconds": torch_best["seconds"],
        "torch_process_seconds": torch_best["process_seconds"], "torch_train_loss": torch_best["train_loss"],
        "torch_threads_per_rank": torch_best["threads"], "torch_warmup_steps": args.warmup,
        "torch_version": torch.__version__, "parameters": torch_best["parameters"],
        "eta_over_torch": ratio, "load_average": load,
        "eta_runs": [r["samples_per_second"] for r in eta_runs],
        "torch_runs": [r["samples_per_second"] for r in torch_runs],
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
