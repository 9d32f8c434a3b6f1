#!/usr/bin/env python3
"""PyTorch CPU baselines for `eta bench`, on the same machine: fused optimizer updates on 2^24 parameters and
MLP training steps (forward, cross-entropy, backward, fused Adam). Prints one JSON object per measurement.

Usage: pip install torch && python3 tools/bench_torch.py [--repeat 20]
Run it interleaved with `eta bench` (see README, Performance): only ratios measured close together mean
anything on a shared machine.
"""
import argparse
import json
import statistics
import time

import torch


def timed(step, repeat, warmup=3):
    for _ in range(warmup):
        step()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return sorted(times)


def update(name, make, n, repeat, bytes_per_param):
    param = torch.nn.Parameter(torch.rand(n))
    param.grad = torch.rand(n) * 1e-3
    optimizer = make([param])
    times = timed(optimizer.step, repeat)
    median = statistics.median(times)
    return dict(kind="update", name=name, parameters=n, min_s=times[0], median_s=median, max_s=times[-1],
                gb_per_s=n * bytes_per_param / median / 1e9)


def training(widths, batch, repeat):
    layers = []
    for i in range(len(widths) - 1):
        layers.append(torch.nn.Linear(widths[i], widths[i + 1]))
        if i < len(widths) - 2:
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)
    x = torch.rand(batch, widths[0])
    y = torch.randint(0, widths[-1], (batch,))
    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        optimizer.zero_grad(set_to_none=False)
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()

    times = timed(step, repeat)
    median = statistics.median(times)
    macs = sum(widths[i] * widths[i + 1] for i in range(len(widths) - 1))
    return dict(kind="training_step", model="-".join(map(str, widths)), batch=batch, min_s=times[0], median_s=median,
                max_s=times[-1], samples_per_s=batch / median, gflops=6 * macs * batch / median / 1e9)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(2)
    n = 1 << 24
    print(json.dumps(dict(torch=torch.__version__, threads=torch.get_num_threads())))
    print(json.dumps(update("adam fused", lambda p: torch.optim.Adam(p, lr=1e-3, fused=True), n, args.repeat, 28)))
    print(json.dumps(update("adamw fused", lambda p: torch.optim.AdamW(p, lr=1e-3, fused=True), n, args.repeat, 28)))
    print(json.dumps(update("sgd momentum fused", lambda p: torch.optim.SGD(p, lr=1e-3, momentum=0.9, fused=True), n, args.repeat, 20)))
    print(json.dumps(training([64, 128, 10], 64, max(args.repeat, 200))))
    print(json.dumps(training([784, 256, 256, 10], 256, max(args.repeat, 50))))


if __name__ == "__main__":
    main()
