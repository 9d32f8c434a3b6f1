#!/usr/bin/env python3
"""Generates Tests/EtaCoreTests/Fixtures/torch_schedules.json: the learning rate (and momentum, where cycled)
that each step of torch.optim uses under torch.optim.lr_scheduler, for every Eta schedule SPEC below.

The k-th value is param_groups[0]["lr"] when optimizer.step() runs for the k-th time (k = 0..N-1), then
scheduler.step() (with the k-th metric for ReduceLROnPlateau). A warmup is SequentialLR([warmup, main],
milestones=[warmup.total_iters]). `wsd` and `inverse_sqrt` come from Hugging Face transformers (get_wsd_schedule,
get_inverse_sqrt_schedule), with num_training_steps = the run's length.

Usage: pip install torch transformers && python3 tools/make_schedule_fixtures.py
"""
import json
import math
import os

import torch
from torch.optim import lr_scheduler as S
from transformers import get_inverse_sqrt_schedule, get_wsd_schedule

# (Eta schedule SPEC, warmup SPEC or None, base lr, steps)
CASES = [
    ("none", None, 0.1, 20),
    ("constant", None, 0.1, 12),
    ("constant:factor=0.5,total_iters=3", None, 0.1, 8),
    ("step:step_size=7", None, 0.1, 40),
    ("step:step_size=3,gamma=0.5", None, 1.0, 20),
    ("multistep:milestones=10/25", None, 0.1, 40),
    ("multistep:milestones=5/5/12,gamma=0.3", None, 0.5, 20),
    ("exponential:gamma=0.95", None, 0.1, 100),
    ("cosine:t_max=50", None, 0.1, 160),
    ("cosine:t_max=30,eta_min=0.001", None, 0.05, 100),
    ("cosine_restarts:t_0=10", None, 0.1, 60),
    ("cosine_restarts:t_0=5,t_mult=2,eta_min=0.01", None, 0.1, 80),
    ("linear", None, 0.1, 10),
    ("linear:start_factor=0.25,end_factor=0.5,total_iters=8", None, 0.2, 20),
    ("polynomial", None, 0.1, 10),
    ("polynomial:total_iters=20,power=2", None, 0.1, 30),
    ("cyclic:max_lr=0.1,step_size_up=5", None, 0.01, 40),
    ("cyclic:max_lr=0.1,base_lr=0.001,step_size_up=4,step_size_down=6,mode=triangular2", None, 0.01, 60),
    ("cyclic:max_lr=0.1,step_size_up=5,mode=exp_range,gamma=0.97", None, 0.01, 60),
    ("cyclic:max_lr=0.1,step_size_up=5,cycle_momentum=false", None, 0.01, 20),
    ("onecycle", None, 0.1, 100),
    ("onecycle:max_lr=0.5,total_steps=80,pct_start=0.25,anneal_strategy=linear", None, 0.1, 80),
    ("onecycle:three_phase=true,div_factor=10,final_div_factor=100", None, 0.1, 90),
    ("onecycle:base_momentum=0.8,max_momentum=0.9", None, 0.1, 50),
    ("plateau:patience=3", None, 0.1, 60),
    ("plateau:mode=max,factor=0.5,patience=2,threshold=0.01,cooldown=2,min_lr=0.01", None, 0.1, 60),
    ("plateau:threshold_mode=abs,threshold=0.05,patience=1,factor=0.2", None, 0.1, 60),
    ("cosine:t_max=40", "linear:start_factor=0.1,total_iters=10", 0.1, 60),
    ("step:step_size=5,gamma=0.5", "constant:factor=0.2,total_iters=4", 0.1, 30),
    ("exponential:gamma=0.9", "polynomial:total_iters=6,power=1", 0.1, 20),
    ("onecycle", "linear:start_factor=0.5,total_iters=10", 0.1, 60),
    ("wsd:warmup=10,decay=20", None, 0.1, 60),
    ("wsd:warmup=5,stable=10,decay=20,decay_type=1-sqrt,min_lr_ratio=0.1", None, 0.1, 50),
    ("wsd:warmup=8,decay=16,decay_type=linear,warmup_type=cosine", None, 0.3, 40),
    ("wsd:warmup=4,decay=10,warmup_type=1-sqrt,num_cycles=1,min_lr_ratio=0.05", None, 0.1, 30),
    ("wsd:decay=7,stable=3", None, 0.1, 15),
    ("inverse_sqrt:warmup=10", None, 0.1, 60),
    ("inverse_sqrt:warmup=5,timescale=20", None, 0.1, 60),
    ("inverse_sqrt", None, 0.1, 30),
    ("wsd:warmup=0,decay=10,decay_type=1-sqrt", "linear:start_factor=0.1,total_iters=10", 0.1, 40),
]


def parse(spec):
    name, _, body = spec.partition(":")
    args = {}
    for part in filter(None, body.split(",")):
        key, value = part.split("=")
        args[key] = value
    return name, args


def number(args, key, default):
    return float(args[key]) if key in args else default


def integer(args, key, default):
    return int(args[key]) if key in args else default


def flag(args, key, default):
    return args[key] == "true" if key in args else default


def build(spec, optimizer, base, steps):
    name, a = parse(spec)
    if name == "none":
        return S.LambdaLR(optimizer, lambda k: 1.0)
    if name == "constant":
        return S.ConstantLR(optimizer, factor=number(a, "factor", 1 / 3), total_iters=integer(a, "total_iters", 5))
    if name == "step":
        return S.StepLR(optimizer, step_size=int(a["step_size"]), gamma=number(a, "gamma", 0.1))
    if name == "multistep":
        return S.MultiStepLR(optimizer, milestones=[int(m) for m in a["milestones"].split("/")], gamma=number(a, "gamma", 0.1))
    if name == "exponential":
        return S.ExponentialLR(optimizer, gamma=float(a["gamma"]))
    if name == "cosine":
        return S.CosineAnnealingLR(optimizer, T_max=int(a["t_max"]), eta_min=number(a, "eta_min", 0.0))
    if name == "cosine_restarts":
        return S.CosineAnnealingWarmRestarts(optimizer, T_0=int(a["t_0"]), T_mult=integer(a, "t_mult", 1), eta_min=number(a, "eta_min", 0.0))
    if name == "linear":
        return S.LinearLR(optimizer, start_factor=number(a, "start_factor", 1 / 3), end_factor=number(a, "end_factor", 1.0),
                          total_iters=integer(a, "total_iters", 5))
    if name == "polynomial":
        return S.PolynomialLR(optimizer, total_iters=integer(a, "total_iters", 5), power=number(a, "power", 1.0))
    if name == "cyclic":
        up = integer(a, "step_size_up", 2000)
        return S.CyclicLR(optimizer, base_lr=number(a, "base_lr", base), max_lr=float(a["max_lr"]), step_size_up=up,
                          step_size_down=integer(a, "step_size_down", None) if "step_size_down" in a else None,
                          mode=a.get("mode", "triangular"), gamma=number(a, "gamma", 1.0),
                          cycle_momentum=flag(a, "cycle_momentum", True), base_momentum=number(a, "base_momentum", 0.8),
                          max_momentum=number(a, "max_momentum", 0.9))
    if name == "onecycle":
        return S.OneCycleLR(optimizer, max_lr=number(a, "max_lr", base), total_steps=integer(a, "total_steps", steps),
                            pct_start=number(a, "pct_start", 0.3), anneal_strategy=a.get("anneal_strategy", "cos"),
                            div_factor=number(a, "div_factor", 25.0), final_div_factor=number(a, "final_div_factor", 1e4),
                            three_phase=flag(a, "three_phase", False), cycle_momentum=flag(a, "cycle_momentum", True),
                            base_momentum=number(a, "base_momentum", 0.85), max_momentum=number(a, "max_momentum", 0.95))
    if name == "plateau":
        return S.ReduceLROnPlateau(optimizer, mode=a.get("mode", "min"), factor=number(a, "factor", 0.1),
                                   patience=integer(a, "patience", 10), threshold=number(a, "threshold", 1e-4),
                                   threshold_mode=a.get("threshold_mode", "rel"), cooldown=integer(a, "cooldown", 0),
                                   min_lr=number(a, "min_lr", 0.0), eps=number(a, "eps", 1e-8))
    if name == "wsd":
        stable = integer(a, "stable", None) if "stable" in a else None
        return get_wsd_schedule(optimizer, num_warmup_steps=integer(a, "warmup", 0), num_decay_steps=int(a["decay"]),
                                num_training_steps=steps if stable is None else None, num_stable_steps=stable,
                                warmup_type=a.get("warmup_type", "linear"), decay_type=a.get("decay_type", "cosine"),
                                min_lr_ratio=number(a, "min_lr_ratio", 0.0), num_cycles=number(a, "num_cycles", 0.5))
    if name == "inverse_sqrt":
        return get_inverse_sqrt_schedule(optimizer, num_warmup_steps=integer(a, "warmup", 0),
                                         timescale=integer(a, "timescale", None) if "timescale" in a else None)
    raise ValueError(spec)


def metrics_for(steps):
    """A noisy loss that plateaus, so ReduceLROnPlateau acts several times."""
    return [1.0 / (1 + 0.2 * min(k, 15)) + 0.01 * math.sin(1.7 * k) for k in range(steps)]


def run(spec, warmup, base, steps):
    param = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([param], lr=base, momentum=0.9)
    length = integer(parse(warmup)[1], "total_iters", 5) if warmup else 0
    # Built in SequentialLR's order: the warmup first, then the main schedule over the remaining steps.
    first = build(warmup, optimizer, base, steps) if warmup else None
    main = build(spec, optimizer, base, steps - length)
    scheduler = S.SequentialLR(optimizer, [first, main], milestones=[length]) if warmup else main
    metrics = metrics_for(steps) if spec.startswith("plateau") else None
    lrs, momenta = [], []
    for k in range(steps):
        lrs.append(optimizer.param_groups[0]["lr"])
        momenta.append(optimizer.param_groups[0]["momentum"])
        param.grad = torch.zeros(1)
        optimizer.step()
        if metrics is not None:
            scheduler.step(metrics[k])
        else:
            scheduler.step()
    cycles = spec.startswith(("cyclic", "onecycle")) and "cycle_momentum=false" not in spec
    return dict(spec=spec, warmup=warmup, lr=base, steps=steps, metrics=metrics, expected_lr=lrs,
                expected_momentum=momenta if cycles else None)


def main():
    cases = [run(*case) for case in CASES]
    out = dict(generator="tools/make_schedule_fixtures.py", torch_version=torch.__version__, cases=cases)
    path = os.path.join(os.path.dirname(__file__), "..", "Tests", "EtaCoreTests", "Fixtures", "torch_schedules.json")
    with open(path, "w") as handle:
        json.dump(out, handle, indent=1)
        handle.write("\n")
    print(f"{len(cases)} cases written to {path}")


if __name__ == "__main__":
    main()
