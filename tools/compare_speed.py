#!/usr/bin/env python3
"""The issue-12 speed bar: a training step of Eta's CPU backend against PyTorch CPU on the same model, batch,
optimizer (AdamW) and thread count, measured in one run, with the PoCL (OpenCL) figures beside.

Models: the CNN `cnn:channels=32/64,kernel=3,hidden=128` at batch 128 on 1x28x28 images (10 classes) and the GPT
`gpt:layers=4,heads=4,embed=128,context=128` at batch 32 (vocabulary 65). Each round times Eta (`eta bench --model`,
median of --repeat steps after warm-up) and PyTorch (tools/torch_speed.py, median of its steps) back to back; the
reported figure is the median over rounds, and the ratio is PyTorch's time over Eta's (above 1: Eta is faster).
Only ratios measured close together mean anything on a shared machine: run it on an idle one (PyTorch's OpenMP
threads spin when a core is taken, and the load average is printed).

Usage: python3 tools/compare_speed.py [--eta .build/release/eta] [--rounds 3] [--threads 2] [--no-opencl]
       [--format text|json]
Needs: a release build of eta (swift build -c release), torch and numpy (pip install torch numpy).
"""
import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent
MODELS = [
    ("cnn", "cnn:channels=32/64,kernel=3,hidden=128", 128, ["--input-shape", "1x28x28", "--outputs", "10"],
     ["--input-shape", "1x28x28", "--classes", "10"]),
    ("gpt", "gpt:layers=4,heads=4,embed=128,context=128", 32, ["--outputs", "65"], ["--vocab", "65"]),
]


def eta_step(eta, spec, batch, extra, device, threads):
    environment = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads))
    command = [eta, "bench", "--model", spec, "--batch-size", str(batch), "--optimizer", "adamw", "--device",
               device, "--repeat", "10", "--format", "json"] + extra
    result = subprocess.run(command, capture_output=True, text=True, env=environment, check=True)
    return json.loads(result.stdout)["median_s"] * 1e3


def torch_step(spec, batch, extra, threads):
    command = [sys.executable, str(HERE / "torch_speed.py"), "--model", spec, "--batch-size", str(batch),
               "--threads", str(threads), "--optimizer", "adamw", "--format", "json"] + extra
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(result.stdout)["median_ms"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--eta", default=str(HERE.parent / ".build" / "release" / "eta"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--no-opencl", action="store_true")
    parser.add_argument("--format", choices=["text", "json"], default="text")
    arguments = parser.parse_args()
    results = []
    for name, spec, batch, eta_extra, torch_extra in MODELS:
        rounds = {"eta_cpu": [], "torch_cpu": [], "eta_opencl": []}
        for _ in range(arguments.rounds):
            rounds["eta_cpu"].append(eta_step(arguments.eta, spec, batch, eta_extra, "cpu", arguments.threads))
            rounds["torch_cpu"].append(torch_step(spec, batch, torch_extra, arguments.threads))
            if not arguments.no_opencl:
                rounds["eta_opencl"].append(eta_step(arguments.eta, spec, batch, eta_extra, "opencl", arguments.threads))
        medians = {key: statistics.median(values) for key, values in rounds.items() if values}
        results.append({
            "model": name, "spec": spec, "batch_size": batch, "threads": arguments.threads,
            "eta_cpu_ms": medians["eta_cpu"], "torch_cpu_ms": medians["torch_cpu"],
            "eta_opencl_ms": medians.get("eta_opencl"),
            "ratio_cpu": medians["torch_cpu"] / medians["eta_cpu"], "rounds": rounds,
        })
    load = os.getloadavg()[0]
    if arguments.format == "json":
        print(json.dumps({"results": results, "load_average": load}, indent=2))
        return
    for r in results:
        opencl = f", Eta PoCL {r['eta_opencl_ms']:.1f} ms" if r["eta_opencl_ms"] is not None else ""
        print(f"{r['model']} (batch {r['batch_size']}, {r['threads']} threads): Eta CPU {r['eta_cpu_ms']:.1f} ms, "
              f"PyTorch CPU {r['torch_cpu_ms']:.1f} ms -> {r['ratio_cpu']:.2f}x PyTorch's speed{opencl}")
    print(f"(median of {arguments.rounds} rounds each; load average {load:.2f})")


if __name__ == "__main__":
    main()
