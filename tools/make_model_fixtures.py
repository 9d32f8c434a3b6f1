#!/usr/bin/env python3
"""PyTorch fixtures for whole models (Tests/EtaCoreTests/Fixtures/torch_models.json): for a tiny CNN (with and
without BatchNorm), a tiny ResNet and a tiny GPT built by tools/torch_models.py, in float64: the initial
state_dict (PyTorch's initialisation drawn in float32 from a fixed seed, then widened, so a float32 backend loads
exactly the same values), the inputs (float32-representable) and targets, the logits, the mean cross-entropy loss
and every parameter's gradient after one backward pass, in training mode. BatchNorm models also record their
running statistics after that forward pass (`buffers_after`) and the logits in evaluation mode with them
(`eval_output`). Every tensor is {"name", "shape", "values"} with the values flattened row-major (PyTorch's layouts).

Usage: pip install torch numpy && python3 tools/make_model_fixtures.py
"""
import json
import pathlib
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import torch_models  # noqa: E402

torch.manual_seed(0)


def flat(t):
    return [float(v) for v in t.detach().reshape(-1)] if t.is_floating_point() else [int(v) for v in t.reshape(-1)]


def entry(name, t):
    return {"name": name, "shape": list(t.shape), "values": flat(t)}


cases = []


def record(spec, input_shape, outputs, batch):
    kind, _ = torch_models.parse_spec(spec)
    # explicit_attention: the textbook attention (the same function as F.scaled_dot_product_attention).
    model = torch_models.build(spec, input_shape, outputs, explicit_attention=True)
    model.double().train()
    parameters = {name for name, _ in model.named_parameters()}
    initial = [dict(entry(name, value), kind="parameter" if name in parameters else "buffer")
               for name, value in model.state_dict().items()]
    if kind == "gpt":
        context = model.context
        x = torch.randint(0, outputs, (batch, context))
        targets = torch.randint(0, outputs, (batch, context))
    else:
        x = (torch.rand(batch, *torch_models.parse_shape(input_shape)) * 2 - 1).double()
        targets = torch.randint(0, outputs, (batch,))
    logits = model(x)
    loss = F.cross_entropy(logits.reshape(-1, outputs), targets.reshape(-1))
    loss.backward()
    case = {
        "spec": spec, "input_shape": input_shape, "outputs": outputs, "batch": batch, "mode": "train",
        "state_dict": initial, "input": entry("input", x), "targets": flat(targets),
        "output": entry("output", logits), "loss": loss.item(),
        "grads": [entry(name, p.grad) for name, p in model.named_parameters()],
    }
    if any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules()):
        case["buffers_after"] = [entry(name, b) for name, b in model.named_buffers()]
        model.eval()
        with torch.no_grad():
            case["eval_output"] = entry("eval_output", model(x))
    cases.append(case)
    print(f"{spec}: {sum(p.numel() for p in model.parameters())} parameters, loss {loss.item():.6f}")


record("cnn:channels=2/3,kernel=3,hidden=5", "1x8x8", 3, 2)
record("cnn:channels=2/3,kernel=3,hidden=5,batchnorm=true", "1x8x8", 3, 2)
record("resnet:blocks=1/1,width=2", "1x8x8", 3, 3)
record("gpt:layers=1,heads=2,embed=8,context=4", None, 5, 2)

path = pathlib.Path(__file__).resolve().parent.parent / "Tests/EtaCoreTests/Fixtures/torch_models.json"
path.write_text(json.dumps({"torch": torch.__version__, "cases": cases}, indent=1) + "\n")
print(f"wrote {len(cases)} cases to {path}")
