#!/usr/bin/env python3
"""PyTorch fixtures for the Reference's convolutional and normalisation layers (Tests/EtaCoreTests/Fixtures/
torch_layers.json): for each case the inputs (from a seeded generator), the forward output and, for a fixed upstream
gradient, autograd's gradients of every input, all in float64.

Usage: pip install torch && python3 tools/make_layer_fixtures.py
"""
import json
import pathlib

import torch
import torch.nn.functional as F

torch.manual_seed(0)
torch.set_default_dtype(torch.float64)


def tensor(*shape):
    return (torch.rand(*shape) * 2 - 1).requires_grad_(True)


def flat(t):
    return [float(v) for v in t.detach().reshape(-1)]


cases = []


def record(kind, params, inputs, output):
    upstream = torch.rand(output.shape) * 2 - 1
    grads = torch.autograd.grad(output, list(inputs.values()), upstream)
    cases.append({
        "kind": kind, **params,
        "inputs": {name: flat(value) for name, value in inputs.items()},
        "output": flat(output), "upstream": flat(upstream),
        "grads": {name: flat(g) for name, g in zip(inputs, grads)},
    })


for batch, channels, outputs, size, kernel, stride, padding, bias in [
    (2, 3, 4, 5, 3, 1, 1, True), (1, 2, 3, 7, 3, 2, 0, True), (2, 1, 2, 6, 2, 2, 1, False), (1, 4, 2, 4, 1, 1, 0, True),
]:
    x, w = tensor(batch, channels, size, size), tensor(outputs, channels, kernel, kernel)
    inputs = {"input": x, "weight": w}
    b = None
    if bias:
        b = tensor(outputs)
        inputs["bias"] = b
    y = F.conv2d(x, w, b, stride=stride, padding=padding)
    record("conv2d", {"batch": batch, "channels": channels, "outputs": outputs, "size": size, "kernel": kernel,
                      "stride": stride, "padding": padding}, inputs, y)

for kind, function in [("max_pool2d", F.max_pool2d), ("avg_pool2d", F.avg_pool2d)]:
    for batch, channels, size, kernel, stride, padding in [(2, 3, 6, 2, 2, 0), (1, 2, 7, 3, 2, 1), (1, 1, 5, 5, 5, 0)]:
        x = tensor(batch, channels, size, size)
        y = function(x, kernel, stride=stride, padding=padding)
        record(kind, {"batch": batch, "channels": channels, "size": size, "kernel": kernel, "stride": stride,
                      "padding": padding}, {"input": x}, y)

for rows, cols in [(3, 8), (1, 5), (4, 16)]:
    x, gamma, beta = tensor(rows, cols), tensor(cols), tensor(cols)
    y = F.layer_norm(x, (cols,), gamma, beta, eps=1e-5)
    record("layer_norm", {"rows": rows, "cols": cols}, {"input": x, "gamma": gamma, "beta": beta}, y)

for batch, channels, size in [(2, 3, 4), (4, 2, 3)]:
    x, gamma, beta = tensor(batch, channels, size, size), tensor(channels), tensor(channels)
    running_mean, running_var = torch.zeros(channels), torch.ones(channels)
    y = F.batch_norm(x, running_mean, running_var, gamma, beta, training=True, momentum=0.1, eps=1e-5)
    record("batch_norm2d", {"batch": batch, "channels": channels, "size": size,
                            "running_mean": flat(running_mean), "running_var": flat(running_var)},
           {"input": x, "gamma": gamma, "beta": beta}, y)

# Embedding: the gradient is of the table; tokens repeat, so rows accumulate.
vocabulary, dim = 7, 4
table = tensor(vocabulary, dim)
tokens = [3, 0, 6, 3, 1, 3]
y = F.embedding(torch.tensor(tokens), table)
record("embedding", {"vocabulary": vocabulary, "dim": dim, "tokens": tokens}, {"table": table}, y)

for heads, length, dim in [(2, 5, 4), (3, 1, 2), (1, 8, 8)]:
    q, k, v = tensor(heads, length, dim), tensor(heads, length, dim), tensor(heads, length, dim)
    y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    record("causal_attention", {"heads": heads, "length": length, "dim": dim},
           {"query": q, "key": k, "value": v}, y)

path = pathlib.Path(__file__).resolve().parent.parent / "Tests/EtaCoreTests/Fixtures/torch_layers.json"
path.write_text(json.dumps({"torch": torch.__version__, "cases": cases}, indent=1) + "\n")
print(f"wrote {len(cases)} cases to {path}")
