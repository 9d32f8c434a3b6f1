#!/usr/bin/env python3
"""Generates Eta's PyTorch golden trajectories: Tests/EtaBackendTests/Fixtures/torch_trajectories.json.

Each case runs one torch.optim optimizer (single-tensor path, foreach=False) for 300 steps on a test
function, with the gradient computed in float32 by the same expressions as Eta's Objective.gradient, and
records the loss before each step and the parameters after it. A float64 run of the same case is stored
beside it, so tests can tell how sensitive a trajectory is to rounding.

The matrix objective's parameter is one 4x3 tensor (as Eta's explore lays it out), so optimizers with a 2-D path
take it.

Usage: pip install torch lion-pytorch schedulefree prodigyopt dadaptation && python3 tools/make_fixtures.py
"""
import json
import os
import sys

import numpy as np
import torch

STEPS = 300

import torch.optim._muon as muon_module
bfloat16_newton_schulz = muon_module._zeropower_via_newtonschulz
f32 = np.float32

# (objective, curvatures or None, Eta SPEC). Learning rates are chosen to show descent, oscillation and slow
# progress while staying bounded (the bar is 1e-4 absolute at every step).
CASES = [
    ("rosenbrock", None, "sgd:lr=1e-3"),
    ("rosenbrock", None, "sgd:lr=2e-4,momentum=0.9"),
    ("rosenbrock", None, "sgd:lr=2e-4,momentum=0.9,nesterov=true"),
    ("rosenbrock", None, "sgd:lr=5e-4,momentum=0.9,dampening=0.5"),
    ("rosenbrock", None, "sgd:lr=5e-4,weight_decay=0.01"),
    ("rosenbrock", None, "sgd:lr=2e-4,momentum=0.8,nesterov=true,weight_decay=0.05"),
    ("rosenbrock", None, "adam:lr=0.01"),
    ("rosenbrock", None, "adam:lr=0.02,amsgrad=true"),
    ("rosenbrock", None, "adam:lr=0.01,weight_decay=0.1"),
    ("rosenbrock", None, "adam:lr=0.01,beta1=0.3,beta2=0.9,eps=1e-6"),
    ("rosenbrock", None, "adam:lr=0.01,weight_decay=0.1,decoupled_weight_decay=true"),
    ("rosenbrock", None, "adamw:lr=0.01"),
    ("rosenbrock", None, "adamw:lr=0.02,weight_decay=0.1,amsgrad=true"),
    ("quadratic", [1.0, 10.0], "sgd:lr=0.05"),
    ("quadratic", [1.0, 10.0], "sgd:lr=0.19"),
    ("quadratic", [1.0, 10.0], "sgd:lr=1e-3,maximize=true"),
    ("quadratic", [1.0, 10.0, 100.0], "sgd:lr=0.01,momentum=0.9,nesterov=true,weight_decay=0.01"),
    ("quadratic", [1.0, 10.0], "sgd:lr=1e-4,momentum=0.9,dampening=0.1,maximize=true"),
    ("quadratic", [1.0, 10.0], "sgd:lr=0.02,momentum=0.95"),
    ("quadratic", [1.0, 10.0], "adam:lr=0.1"),
    ("quadratic", [1.0, 10.0], "adam:lr=0.05,maximize=true"),
    ("quadratic", [1.0, 10.0, 100.0], "adam:lr=0.05,amsgrad=true,weight_decay=0.01"),
    ("quadratic", [1.0, 10.0], "adam:lr=0.1,amsgrad=true,maximize=true,weight_decay=0.01"),
    ("quadratic", [1.0, 10.0], "adamw:lr=0.1,weight_decay=0.5"),
    ("quadratic", [1.0, 10.0], "adamw:lr=0.05,amsgrad=true,maximize=true,beta1=0.6"),
    ("rosenbrock", None, "rmsprop:lr=1e-3"),
    ("rosenbrock", None, "rmsprop:lr=1e-3,centered=true,momentum=0.5,weight_decay=0.01"),
    ("quadratic", [1.0, 10.0], "rmsprop:lr=0.01,alpha=0.3,momentum=0.9,maximize=true"),
    ("rosenbrock", None, "rmsprop:lr=1e-3,centered=true"),
    ("rosenbrock", None, "adagrad:lr=0.1"),
    ("quadratic", [1.0, 10.0], "adagrad:lr=0.1,lr_decay=0.01,weight_decay=0.1,initial_accumulator_value=0.5"),
    ("quadratic", [1.0, 10.0], "adagrad:lr=0.01,maximize=true"),
    ("rosenbrock", None, "adadelta"),
    ("quadratic", [1.0, 10.0], "adadelta:lr=0.5,rho=0.5,weight_decay=0.1,maximize=true"),
    ("rosenbrock", None, "adamax:lr=0.01"),
    ("quadratic", [1.0, 10.0], "adamax:lr=0.05,beta1=0.3,weight_decay=0.1,maximize=true"),
    ("rosenbrock", None, "nadam:lr=0.01"),
    ("quadratic", [1.0, 10.0], "nadam:lr=0.05,weight_decay=0.1,momentum_decay=0.01"),
    ("quadratic", [1.0, 10.0], "nadam:lr=0.05,weight_decay=0.1,decoupled_weight_decay=true,maximize=true"),
    ("rosenbrock", None, "radam:lr=0.01"),
    ("quadratic", [1.0, 10.0], "radam:lr=0.05,weight_decay=0.1,beta2=0.9"),
    ("quadratic", [1.0, 10.0], "radam:lr=0.05,weight_decay=0.1,decoupled_weight_decay=true,maximize=true,beta1=0.6"),
    ("rosenbrock", None, "lion:lr=1e-3"),
    ("quadratic", [1.0, 10.0], "lion:lr=0.01,weight_decay=0.1,beta1=0.95,beta2=0.98"),
    ("rosenbrock", None, "schedulefree_adamw:lr=0.01"),
    ("quadratic", [1.0, 10.0], "schedulefree_adamw:lr=0.05,weight_decay=0.1,warmup_steps=20,r=0.5,weight_lr_power=1,beta1=0.6"),
    ("rosenbrock", None, "schedulefree_sgd:lr=1e-4"),
    ("quadratic", [1.0, 10.0], "schedulefree_sgd:lr=0.05,weight_decay=0.1,warmup_steps=20,momentum=0.5"),
    ("rosenbrock", None, "prodigy:lr=0.5,growth_rate=1.02"),
    ("quadratic", [1.0, 10.0], "prodigy:weight_decay=0.1,use_bias_correction=true"),
    ("quadratic", [1.0, 10.0], "prodigy:beta1=0,weight_decay=0.1,decouple=false,safeguard_warmup=true,d_coef=0.5,growth_rate=1.1"),
    ("quadratic", [1.0, 10.0, 100.0], "prodigy:lr=0.5,beta3=0.9,d0=1e-4,eps=1e-6"),
    ("rosenbrock", None, "dadapt_adam:lr=0.3"),
    ("quadratic", [1.0, 10.0], "dadapt_adam:weight_decay=0.1,decouple=true,use_bias_correction=true"),
    ("quadratic", [1.0, 10.0, 100.0], "dadapt_adam:growth_rate=1.05,weight_decay=0.01,d0=1e-4,beta1=0.5"),
    ("rosenbrock", None, "asgd:lr=1e-3"),
    ("quadratic", [1.0, 10.0], "asgd:lr=0.05,lambd=0.01,alpha=0.5,t0=100,weight_decay=0.1"),
    ("quadratic", [1.0, 10.0], "asgd:lr=1e-3,t0=10,maximize=true"),
    ("rosenbrock", None, "rprop"),
    ("quadratic", [1.0, 10.0], "rprop:lr=0.1,etaminus=0.3,etaplus=1.5,step_size_min=1e-3,step_size_max=1"),
    ("quadratic", [1.0, 10.0], "rprop:lr=1e-3,maximize=true,step_size_max=0.01"),
    # The matrix least-squares objective (X in R^(4x3)), one case per optimizer.
    ("matrix", None, "sgd:lr=0.05"),
    ("matrix", None, "sgd:lr=0.02,momentum=0.9,nesterov=true,weight_decay=0.01"),
    ("matrix", None, "adam:lr=0.05"),
    ("matrix", None, "adamw:lr=0.05,weight_decay=0.1,amsgrad=true"),
    ("matrix", None, "rmsprop:lr=1e-3,centered=true,momentum=0.5"),
    ("matrix", None, "adagrad:lr=0.3"),
    ("matrix", None, "adadelta:lr=1.0"),
    ("matrix", None, "adamax:lr=0.05"),
    ("matrix", None, "nadam:lr=0.05"),
    ("matrix", None, "radam:lr=0.05"),
    ("matrix", None, "lion:lr=0.005,weight_decay=0.1"),
    ("matrix", None, "asgd:lr=0.05,t0=50"),
    ("matrix", None, "rprop:lr=0.05"),
    ("matrix", None, "schedulefree_adamw:lr=0.05,eps=0.01"),
    ("matrix", None, "schedulefree_sgd:lr=0.02"),
    ("matrix", None, "prodigy"),
    ("matrix", None, "dadapt_adam"),
    # Muon on the matrix (4x3: the transposed Newton-Schulz path), at learning rates that stop short of the minimum
    # (near it Muon's fixed-size steps follow the direction of a vanishing gradient, which rounding decides); on a vector objective Eta's Muon hands the tensor to
    # its auxiliary optimizer (AdamW lr 3e-4, beta2 0.95), which is what the fixture runs there.
    ("matrix", None, "muon:lr=1e-3"),
    ("matrix", None, "muon:lr=2e-3,nesterov=false,weight_decay=0,adjust_lr_fn=match_rms_adamw"),
    ("matrix", None, "muon:lr=1e-3,momentum=0.9,ns_steps=3,adjust_lr_fn=spectral_unclamped,weight_decay=0.05"),
    ("rosenbrock", None, "muon:lr=0.02"),
    ("matrix", None, "adafactor:lr=3e-3"),
    ("matrix", None, "adafactor:lr=3e-3,beta2_decay=-0.5,weight_decay=0.1,d=2"),
    ("rosenbrock", None, "adafactor:lr=1e-3"),
    ("quadratic", [1.0, 10.0], "adafactor:lr=1e-3,maximize=true,eps2=0.01"),
]

# The matrix objective: f(X) = 0.5 ||A X - B||_F^2 over X in R^(4x3), row-major.
MATRIX_A = [[2, 0, 1, 0], [0, 1, 0, -1], [1, 1, 3, 0], [0, -2, 0, 1], [1, 0, 0, 2]]
MATRIX_B = [[1, 2, 0], [0, -1, 1], [3, 0, 2], [-1, 1, 0], [2, 0, -2]]
MATRIX_X0 = [0.5, -0.5, 0.25, 0.0, 1.0, -1.0, 0.75, 0.25, 0.0, -0.25, 0.5, 1.0]


def parse_spec(spec):
    name, _, body = spec.partition(":")
    args = {}
    for part in filter(None, body.split(",")):
        key, value = part.split("=")
        try:
            args[key] = (value == "true") if value in ("true", "false") else float(value)
        except ValueError:
            args[key] = value   # a name (Muon's adjust_lr_fn)
    return name, args


def float32_newton_schulz(grad, ns_coefficients, ns_steps, eps):
    """torch.optim.Muon's _zeropower_via_newtonschulz with the iteration in float32 (PyTorch's runs in bfloat16)."""
    a, b, c = ns_coefficients
    x = grad.to(dtype=grad.dtype, copy=True)
    if grad.size(0) > grad.size(1):
        x = x.T
    x.div_(x.norm().clamp(min=eps))
    for _ in range(ns_steps):
        gram = x @ x.T
        update = torch.addmm(gram, gram, gram, beta=b, alpha=c)
        x = torch.addmm(x, update, x, beta=a)
    if grad.size(0) > grad.size(1):
        x = x.T
    return x


def make_optimizer(name, args, param):
    if name == "muon":
        if param.dim() != 2:
            # Eta's Muon gives tensors of fewer than two dimensions to its auxiliary optimizer.
            return torch.optim.AdamW([param], lr=3e-4, betas=(0.9, 0.95), foreach=False)
        return torch.optim.Muon([param], lr=args.get("lr", 1e-3), weight_decay=args.get("weight_decay", 0.1),
                                momentum=args.get("momentum", 0.95), nesterov=args.get("nesterov", True),
                                ns_coefficients=(args.get("ns_a", 3.4445), args.get("ns_b", -4.7750), args.get("ns_c", 2.0315)),
                                eps=args.get("eps", 1e-7), ns_steps=int(args.get("ns_steps", 5)),
                                adjust_lr_fn=args.get("adjust_lr_fn", "original"))
    if name == "adafactor":
        return torch.optim.Adafactor([param], lr=args.get("lr", 1e-2), beta2_decay=args.get("beta2_decay", -0.8),
                                     eps=(args.get("eps1"), args.get("eps2", 1e-3)), d=args.get("d", 1.0),
                                     weight_decay=args.get("weight_decay", 0.0), maximize=args.get("maximize", False),
                                     foreach=False)
    if name == "prodigy":
        from prodigyopt import Prodigy
        beta3 = args.get("beta3", -1.0)
        return Prodigy([param], lr=args.get("lr", 1.0), betas=(args.get("beta1", 0.9), args.get("beta2", 0.999)),
                       beta3=None if beta3 < 0 else beta3, eps=args.get("eps", 1e-8), weight_decay=args.get("weight_decay", 0.0),
                       decouple=args.get("decouple", True), use_bias_correction=args.get("use_bias_correction", False),
                       safeguard_warmup=args.get("safeguard_warmup", False), d0=args.get("d0", 1e-6),
                       d_coef=args.get("d_coef", 1.0), growth_rate=args.get("growth_rate", float("inf")))
    if name == "dadapt_adam":
        from dadaptation import DAdaptAdam
        return DAdaptAdam([param], lr=args.get("lr", 1.0), betas=(args.get("beta1", 0.9), args.get("beta2", 0.999)),
                          eps=args.get("eps", 1e-8), weight_decay=args.get("weight_decay", 0.0), decouple=args.get("decouple", False),
                          use_bias_correction=args.get("use_bias_correction", False), d0=args.get("d0", 1e-6),
                          growth_rate=args.get("growth_rate", float("inf")))
    if name.startswith("schedulefree"):
        import schedulefree
        common = dict(lr=args["lr"], weight_decay=args.get("weight_decay", 0.0), warmup_steps=int(args.get("warmup_steps", 0)),
                      r=args.get("r", 0.0), weight_lr_power=args.get("weight_lr_power", 2.0), foreach=False)
        if name == "schedulefree_adamw":
            optimizer = schedulefree.AdamWScheduleFree([param], betas=(args.get("beta1", 0.9), args.get("beta2", 0.999)),
                                                        eps=args.get("eps", 1e-8), **common)
        else:
            optimizer = schedulefree.SGDScheduleFree([param], momentum=args.get("momentum", 0.9), **common)
        optimizer.train()   # the parameter holds y while training
        return optimizer
    if name == "lion":
        from lion_pytorch import Lion
        return Lion([param], lr=args.get("lr", 1e-4), betas=(args.get("beta1", 0.9), args.get("beta2", 0.99)),
                    weight_decay=args.get("weight_decay", 0.0))
    if name == "rprop":
        return torch.optim.Rprop([param], lr=args.get("lr", 1e-2), etas=(args.get("etaminus", 0.5), args.get("etaplus", 1.2)),
                                 step_sizes=(args.get("step_size_min", 1e-6), args.get("step_size_max", 50.0)),
                                 maximize=args.get("maximize", False), foreach=False)
    family = {"rmsprop": torch.optim.RMSprop, "asgd": torch.optim.ASGD, "adagrad": torch.optim.Adagrad, "adadelta": torch.optim.Adadelta,
              "adamax": torch.optim.Adamax, "nadam": torch.optim.NAdam, "radam": torch.optim.RAdam}
    if name in family:
        kw = dict(foreach=False)
        for key, value in args.items():
            if key in ("beta1", "beta2"):
                continue
            kw[key] = value
        if "beta1" in args or "beta2" in args or name in ("adamax", "nadam", "radam"):
            if name in ("adamax", "nadam", "radam"):
                kw["betas"] = (args.get("beta1", 0.9), args.get("beta2", 0.999))
        return family[name]([param], **kw)
    kw = dict(foreach=False)
    if name == "sgd":
        for key in ("lr", "momentum", "dampening", "weight_decay", "nesterov", "maximize"):
            if key in args:
                kw[key] = args[key]
        return torch.optim.SGD([param], **kw)
    for key in ("lr", "eps", "weight_decay", "amsgrad", "maximize"):
        if key in args:
            kw[key] = args[key]
    kw["betas"] = (args.get("beta1", 0.9), args.get("beta2", 0.999))
    if name == "adam":
        if args.get("decoupled_weight_decay"):
            kw["decoupled_weight_decay"] = True
        return torch.optim.Adam([param], **kw)
    return torch.optim.AdamW([param], **kw)


def loss_and_grad(objective, curvatures, x, dtype):
    """The float32 expressions of Eta's Objective (one rounding per operation, no fma)."""
    t = dtype
    if objective == "rosenbrock":
        x0, x1 = t(x[0]), t(x[1])
        a = t(1) - x0
        b = x1 - x0 * x0
        loss = a * a + t(100) * b * b
        grad = [t(-2) * a - t(400) * x0 * b, t(200) * b]
        return loss, grad
    if objective == "matrix":
        # Eta's order: R[i][j] = (sum over k from 0 of A[i][k] X[k][j]) - B[i][j]; loss 0.5 * sum of R^2 row-major;
        # G[k][j] = sum over i from 0 of A[i][k] R[i][j].
        r = []
        for i in range(5):
            for j in range(3):
                acc = t(0)
                for k in range(4):
                    acc = acc + t(MATRIX_A[i][k]) * t(x[k * 3 + j])
                r.append(acc - t(MATRIX_B[i][j]))
        total = t(0)
        for value in r:
            total = total + value * value
        grad = []
        for k in range(4):
            for j in range(3):
                acc = t(0)
                for i in range(5):
                    acc = acc + t(MATRIX_A[i][k]) * r[i * 3 + j]
                grad.append(acc)
        return t(0.5) * total, grad
    total = t(0)
    for c, xi in zip(curvatures, x):
        total = total + t(c) * t(xi) * t(xi)
    return t(0.5) * total, [t(c) * t(xi) for c, xi in zip(curvatures, x)]


def run(objective, curvatures, spec, dtype):
    name, args = parse_spec(spec)
    start = {"rosenbrock": [-1.5, 2.0], "matrix": MATRIX_X0}.get(objective) or [1.0] * len(curvatures)
    torch_dtype = torch.float32 if dtype is np.float32 else torch.float64
    shape = (4, 3) if objective == "matrix" else (len(start),)
    param = torch.tensor(start, dtype=torch_dtype).reshape(shape).requires_grad_(True)
    optimizer = make_optimizer(name, args, param)
    losses, xs, ds = [], [], []
    x = [dtype(v) for v in start]
    for _ in range(STEPS):
        loss, grad = loss_and_grad(objective, curvatures, x, dtype)
        param.grad = torch.tensor([float(g) for g in grad], dtype=torch_dtype).reshape(shape)
        optimizer.step()
        x = [dtype(v) for v in param.detach().numpy().reshape(-1)]
        losses.append(float(loss))
        xs.append([float(v) for v in x])
        if name in ("prodigy", "dadapt_adam"):
            ds.append(float(optimizer.param_groups[0]["d"]))   # Prodigy's and D-Adaptation's step-size estimate
    return start, losses, xs, ds


def main():
    torch.set_num_threads(1)
    path = os.path.join(os.path.dirname(__file__), "..", "Tests", "EtaBackendTests", "Fixtures", "torch_trajectories.json")
    # Cases already in the file are kept as they are: their last bits depend on the CPU's vector paths (AVX2 or
    # AVX-512 builds of torch's kernels round a few operations differently), so regenerating them elsewhere would
    # churn the goldens without changing what they check. Delete the file to regenerate everything.
    kept = {}
    if os.path.exists(path):
        with open(path) as handle:
            kept = {(c["objective"], c["spec"]): c for c in json.load(handle)["cases"]}
    cases = []
    for objective, curvatures, spec in CASES:
        if (objective, spec) in kept:
            cases.append(kept[(objective, spec)])
            continue
        bf16_xs = None
        if spec.startswith("muon") and objective == "matrix":
            # PyTorch's own Muon (bfloat16 Newton-Schulz), kept to state how far float32 is from it.
            _, _, bf16_xs, _ = run(objective, curvatures, spec, np.float32)
            muon_module.__dict__["_zeropower_via_newtonschulz"] = float32_newton_schulz
        start, losses, xs, ds = run(objective, curvatures, spec, np.float32)
        _, losses64, xs64, _ = run(objective, curvatures, spec, np.float64)
        muon_module.__dict__["_zeropower_via_newtonschulz"] = bfloat16_newton_schulz
        deviation = max(abs(a - b) for row, row64 in zip(xs, xs64) for a, b in zip(row, row64))
        case = dict(objective=objective, curvatures=curvatures, spec=spec, start=start, steps=STEPS,
                    loss=losses, x=xs, float64_x=xs64, float32_vs_float64_max_abs=deviation)
        if bf16_xs is not None:
            case["newton_schulz"] = "float32 (torch.optim.Muon with _zeropower_via_newtonschulz in float32)"
            case["bfloat16_vs_float32_max_abs"] = max(abs(a - b) for r1, r2 in zip(bf16_xs, xs) for a, b in zip(r1, r2))
            case["bfloat16_x"] = bf16_xs
            print(f"  bfloat16 Newton-Schulz vs float32: {case['bfloat16_vs_float32_max_abs']:.2e}", file=sys.stderr)
        if ds:
            case["d"] = ds
        cases.append(case)
        print(f"{objective:10s} {spec:60s} final x {xs[-1]}  f32-vs-f64 {deviation:.2e}", file=sys.stderr)
    out = dict(generator="tools/make_fixtures.py", torch_version=torch.__version__, numpy_version=np.__version__,
               note="torch.optim single-tensor path (foreach=False), float32; x after each step, loss before it; d: the step-size estimate after each step (prodigyopt, dadaptation); cases already in the file are kept as generated (their last bits depend on the CPU's vector paths)",
               cases=cases)
    with open(path, "w") as handle:
        json.dump(out, handle, indent=1)
        handle.write("\n")


if __name__ == "__main__":
    main()
