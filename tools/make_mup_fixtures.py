#!/usr/bin/env python3
"""μP fixtures from the `mup` package (Tests/EtaBackendTests/Fixtures/torch_mup.json).

For an MLP, a CNN, a ResNet and a GPT built by tools/torch_models.py at a width and at a base width, the package's
`set_base_shapes(model, base)` gives every parameter's InfShape; the case records, per parameter, its number of
infinite dimensions, `width_mult()`, `fanin_fanout_mult_ratio()` (2-D and up) and the learning-rate and weight-decay
factors that `mup.MuAdam` and `mup.MuSGD` (default decoupled_wd=False) put in their parameter groups (built with
lr=1 and weight_decay=1). It also runs one training-mode forward and backward in float64 of the μP model, the readout
replaced by `mup.MuReadout` (input × 1/width_mult) and, for the GPT, attention scores scaled by √(base d_head)/d_head,
recording the state, the batch, the logits, the loss and every gradient (the layout of torch_models.json).

Usage: pip install torch mup && python3 tools/make_mup_fixtures.py
"""
import json
import math
import pathlib
import sys

import mup
import torch
import torch.nn.functional as F

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import torch_models  # noqa: E402

torch.manual_seed(0)


def flat(t):
    return [float(v) for v in t.detach().reshape(-1)] if t.is_floating_point() else [int(v) for v in t.reshape(-1)]


def entry(name, t):
    return {"name": name, "shape": list(t.shape), "values": flat(t)}


def factors(model, make):
    """Per parameter name: the (lr, weight_decay) the mup optimizer's groups give it, from lr=1, weight_decay=1."""
    optimizer = make(model.parameters(), lr=1.0, weight_decay=1.0)
    ids = {id(p): name for name, p in model.named_parameters()}
    result = {}
    for group in optimizer.param_groups:
        for p in group["params"]:
            result[ids[id(p)]] = (group["lr"], group["weight_decay"])
    return result


def readout_name(model):
    return [name for name, m in model.named_modules() if isinstance(m, torch.nn.Linear)][-1]


def record(spec, base_spec, base_width, input_shape, outputs, batch):
    kind, options = torch_models.parse_spec(spec)
    model = torch_models.build(spec, input_shape, outputs, explicit_attention=True)
    base = torch_models.build(base_spec, input_shape, outputs, explicit_attention=True)
    # The readout as mup's MuReadout (same weight and bias), so forward divides its input by width_mult().
    name = readout_name(model)
    parent_name, _, child = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    old = getattr(parent, child)
    readout = mup.MuReadout(old.in_features, old.out_features, bias=old.bias is not None)
    with torch.no_grad():
        readout.weight.copy_(old.weight)
        readout.bias.copy_(old.bias)
    setattr(parent, child, readout)
    mup.set_base_shapes(model, base, rescale_params=False)
    if kind == "gpt":
        d, base_d = options["embed"] // options["heads"], base_width // options["heads"]
        for module in model.modules():
            if isinstance(module, torch_models.CausalSelfAttention):
                module.score_scale = math.sqrt(base_d) / d
    adam, sgd = factors(model, mup.MuAdam), factors(model, mup.MuSGD)
    shapes = []
    for pname, p in model.named_parameters():
        info = p.infshape
        shapes.append({
            "name": pname, "ninf": info.ninf(), "width_mult": info.width_mult(),
            "fanin_fanout_ratio": info.fanin_fanout_mult_ratio() if p.dim() >= 2 else None,
            "muadam": list(adam[pname]), "musgd": list(sgd[pname]),
        })
    model.double().train()
    state = [dict(entry(n, v), kind="parameter") for n, v in model.named_parameters()]
    if kind == "gpt":
        x = torch.randint(0, outputs, (batch, model.context))
        targets = torch.randint(0, outputs, (batch, model.context))
    else:
        x = (torch.rand(batch, *torch_models.parse_shape(input_shape)) * 2 - 1).double()
        targets = torch.randint(0, outputs, (batch,))
    logits = model(x)
    loss = F.cross_entropy(logits.reshape(-1, outputs), targets.reshape(-1))
    loss.backward()
    cases.append({
        "spec": spec, "base_width": base_width, "input_shape": input_shape, "outputs": outputs, "batch": batch,
        "readout": name, "readout_width_mult": readout.width_mult(), "shapes": shapes,
        "state_dict": state, "input": entry("input", x), "targets": flat(targets),
        "output": entry("output", logits), "loss": loss.item(),
        "grads": [entry(n, p.grad) for n, p in model.named_parameters()],
    })
    print(f"{spec} (base {base_width}): loss {loss.item():.6f}, readout width_mult {readout.width_mult()}")


cases = []
record("mlp:hidden=32/32", "mlp:hidden=8/8", 8, "12", 3, 4)
record("cnn:channels=4/8,kernel=3,hidden=12", "cnn:channels=2/4,kernel=3,hidden=6", 2, "1x8x8", 3, 2)
record("resnet:blocks=1/1,width=4", "resnet:blocks=1/1,width=2", 2, "1x8x8", 3, 2)
record("gpt:layers=1,heads=2,embed=16,context=4", "gpt:layers=1,heads=2,embed=4,context=4", 4, None, 5, 2)

path = pathlib.Path(__file__).resolve().parent.parent / "Tests/EtaBackendTests/Fixtures/torch_mup.json"
path.write_text(json.dumps({"torch": torch.__version__, "mup": getattr(mup, "__version__", "1.0.0"), "cases": cases},
                           indent=1) + "\n")
print(f"wrote {len(cases)} cases to {path}")
