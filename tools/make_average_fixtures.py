#!/usr/bin/env python3
"""Generates Tests/EtaBackendTests/Fixtures/torch_averages.json: PyTorch's exponential moving average of a model's
parameters (torch.optim.swa_utils.AveragedModel with get_ema_multi_avg_fn(decay)) after each optimizer step, and
stochastic weight averaging (AveragedModel's default equal average with SWALR) over epochs.

A small float32 model (Linear 4->3, Tanh, Linear 3->2) trains with SGD (momentum 0.9) on seeded random data; after
every step AveragedModel.update_parameters(model) runs. Each case records, per step, the model's flattened
parameters (in named_parameters order) and the average's. Eta's test feeds the same parameter sequence to its
ParameterAverage on each backend and compares the averages.

SWA cases run PyTorch's documented loop over epochs (5 SGD steps each): `if epoch > swa_start:
swa_model.update_parameters(model); swa_scheduler.step()` else `scheduler.step()` (CosineAnnealingLR over the run,
stepped per epoch), recording the lr each epoch trains at, the parameters at each epoch's end and the average after
it (null before it starts). Eta's `--swa-start S` is swa_start = S - 1.

Usage: pip install torch && python3 tools/make_average_fixtures.py
"""
import json
import os

import torch
from torch.optim.swa_utils import SWALR, AveragedModel, get_ema_multi_avg_fn

STEPS = 25


def run(decay, seed):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Tanh(), torch.nn.Linear(3, 2))
    average = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    inputs, targets = torch.randn(32, 4), torch.randn(32, 2)
    parameters, averages = [], []
    for _ in range(STEPS):
        optimizer.zero_grad()
        torch.nn.functional.mse_loss(model(inputs), targets).backward()
        optimizer.step()
        average.update_parameters(model)
        flat = lambda m: [float(v) for p in m.parameters() for v in p.detach().reshape(-1)]
        parameters.append(flat(model))
        averages.append(flat(average.module))
    return dict(decay=decay, steps=STEPS, parameters=parameters, averages=averages)


def run_swa(swa_start, swa_lr, anneal_epochs, anneal_strategy, epochs=12, lr=0.05, seed=3):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Tanh(), torch.nn.Linear(3, 2))
    swa_model = AveragedModel(model)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    swa_scheduler = SWALR(optimizer, swa_lr=swa_lr, anneal_epochs=anneal_epochs, anneal_strategy=anneal_strategy)
    inputs, targets = torch.randn(32, 4), torch.randn(32, 2)
    flat = lambda m: [float(v) for p in m.parameters() for v in p.detach().reshape(-1)]
    lrs, parameters, averages = [], [], []
    for epoch in range(epochs):
        lrs.append(optimizer.param_groups[0]["lr"])
        for _ in range(5):
            optimizer.zero_grad()
            torch.nn.functional.mse_loss(model(inputs), targets).backward()
            optimizer.step()
        if epoch > swa_start:
            swa_model.update_parameters(model)
            swa_scheduler.step()
        else:
            scheduler.step()
        parameters.append(flat(model))
        averages.append(flat(swa_model.module) if epoch > swa_start else None)
    return dict(swa_start=swa_start, swa_lr=swa_lr, anneal_epochs=anneal_epochs, anneal_strategy=anneal_strategy,
                epochs=epochs, lr=lr, lrs=lrs, parameters=parameters, averages=averages)


def main():
    torch.set_num_threads(1)
    cases = [run(0.9, 0), run(0.999, 1), run(0.5, 2)]
    swa = [run_swa(3, 0.01, 3, "cos"), run_swa(2, 0.02, 4, "linear"), run_swa(5, 0.005, 1, "cos")]
    out = dict(generator="tools/make_average_fixtures.py", torch_version=torch.__version__, cases=cases, swa=swa)
    path = os.path.join(os.path.dirname(__file__), "..", "Tests", "EtaBackendTests", "Fixtures", "torch_averages.json")
    with open(path, "w") as handle:
        json.dump(out, handle)
        handle.write("\n")
    print(f"{len(cases)} cases written to {path}")


if __name__ == "__main__":
    main()
