#!/usr/bin/env python3
"""PyTorch CPU training-step speed for an Eta model SPEC: the baseline for the issue-12 speed bar (Eta's CPU
backend at >= 0.8x PyTorch CPU with the same threads).

One step = forward, cross-entropy loss (mean; GPT: over all B*T positions), backward, optimizer step
(AdamW lr 1e-3 by default), with zero_grad(set_to_none=True) first. Inputs are random (fixed seed) and the same
batch is reused, so only compute is timed. Warm-up steps run first, then --steps steps are timed with
time.perf_counter: ms/step is their mean (median and min are reported as well).

Usage:
  python3 tools/torch_speed.py --threads 2                      # the CNN, batch 128, 1x28x28, 10 classes
  python3 tools/torch_speed.py --model gpt:layers=4,heads=4,embed=128,context=128 --vocab 65 --threads 2
  python3 tools/torch_speed.py --model resnet:blocks=2/2/2,width=16 --input-shape 3x32x32 --format json
Options: --batch-size B (default 128; 32 for gpt), --steps N, --warmup N, --optimizer adamw|adam|sgd, --lr,
--threads T (default os.cpu_count()), --format text|json.
Run it interleaved with Eta's own measurement on the same machine: only ratios measured close together mean
anything on a shared machine. Other busy processes hurt PyTorch badly (its OpenMP threads spin at barriers while
a core is taken: a GPT step went from 160 ms to 2.8 s with one core busy), so measure on an idle machine; the
JSON carries the 1-minute load average seen at the end (`load_average`).

Needs: torch, numpy (pip install torch numpy); imports tools/torch_models.py.
"""
import argparse
import json
import os
import pathlib
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import torch_models  # noqa: E402

DEFAULT_CNN = "cnn:channels=32/64,kernel=3,hidden=128"


def make_optimizer(name, parameters, lr):
    if name == "adamw":
        return torch.optim.AdamW(parameters, lr=lr)
    if name == "adam":
        return torch.optim.Adam(parameters, lr=lr)
    return torch.optim.SGD(parameters, lr=lr, momentum=0.9)


def main():
    parser = argparse.ArgumentParser(description="PyTorch CPU training-step speed for an Eta model SPEC")
    parser.add_argument("--model", default=DEFAULT_CNN, help=f"model SPEC (default {DEFAULT_CNN})")
    parser.add_argument("--input-shape", default="1x28x28", help="CxHxW for image models (default 1x28x28)")
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--vocab", type=int, default=65, help="gpt vocabulary size (default 65)")
    parser.add_argument("--batch-size", type=int, help="default 128 (images), 32 (gpt)")
    parser.add_argument("--steps", type=int, help="timed steps (default 20; 10 for gpt)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first (default 3)")
    parser.add_argument("--optimizer", choices=["adamw", "adam", "sgd"], default="adamw")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--format", choices=["text", "json"], default="text")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    kind, options = torch_models.parse_spec(args.model)
    gpt = kind == "gpt"
    batch = args.batch_size or (32 if gpt else 128)
    steps = args.steps or (10 if gpt else 20)
    generator = torch.Generator().manual_seed(args.seed)
    if gpt:
        model = torch_models.build(args.model, None, args.vocab)
        context = options["context"]
        inputs = torch.randint(0, args.vocab, (batch, context), generator=generator)
        targets = torch.randint(0, args.vocab, (batch, context), generator=generator)
        outputs = args.vocab
    else:
        shape = torch_models.parse_shape(args.input_shape)
        model = torch_models.build(args.model, shape, args.classes)
        inputs = torch.rand(batch, *shape, generator=generator)
        targets = torch.randint(0, args.classes, (batch,), generator=generator)
        outputs = args.classes
    model.train()
    optimizer = make_optimizer(args.optimizer, model.parameters(), args.lr)

    def step():
        optimizer.zero_grad(set_to_none=True)
        logits = model(inputs)
        loss = F.cross_entropy(logits.reshape(-1, outputs), targets.reshape(-1))
        loss.backward()
        optimizer.step()
        return loss

    for _ in range(args.warmup):
        step()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    mean = sum(times) / len(times)
    result = {
        "model": args.model, "batch_size": batch, "threads": torch.get_num_threads(),
        "ms_per_step": mean * 1e3, "samples_per_second": batch / mean, "torch_version": torch.__version__,
        "median_ms": statistics.median(times) * 1e3, "min_ms": min(times) * 1e3, "steps": steps,
        "warmup": args.warmup, "optimizer": args.optimizer,
        "parameters": sum(p.numel() for p in model.parameters()),
        "load_average": os.getloadavg()[0],
    }
    if gpt:
        result.update(vocab=args.vocab, context=options["context"], tokens_per_second=batch * options["context"] / mean)
    else:
        result.update(input_shape=args.input_shape, classes=args.classes)
    if args.format == "json":
        print(json.dumps(result))
    else:
        print(f"{args.model} batch {batch}, {result['threads']} threads, {args.optimizer}, torch {torch.__version__}: "
              f"{result['ms_per_step']:.2f} ms/step (median {result['median_ms']:.2f}, min {result['min_ms']:.2f}), "
              f"{result['samples_per_second']:.1f} samples/s over {steps} steps")
    return 0


if __name__ == "__main__":
    sys.exit(main())
