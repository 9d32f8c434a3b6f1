#!/usr/bin/env python3
"""PyTorch twins of Eta's model SPECs, and a loader for Eta checkpoints.

`build(spec, input_shape, classes_or_vocab)` returns the `nn.Module` that an Eta model SPEC describes, with
exactly Eta's parameter names and layouts (PyTorch's own: `[out, in]`, `[out, in, kh, kw]`, NCHW):

  mlp:hidden=128/64,act=relu[,init=kaiming|xavier]      layer{i}.weight / layer{i}.bias (input flattened)
  cnn:channels=32/64,kernel=3,hidden=128[,batchnorm=true][,dropout=P]
                                                         conv{i} [bn{i}] ReLU MaxPool2d(2) ... fc1 ReLU [Dropout] fc2
  resnet:blocks=2/2/2,width=16                           conv1 bn1 ReLU, layer{s}.{j} BasicBlocks, avg pool, fc
  gpt:layers=4,heads=4,embed=128,context=128[,mlp=4][,dropout=0]
                                                         pre-LayerNorm decoder, blocks.{i}.attn.qkv ..., ln_f, head

`load_eta_checkpoint(module, path)` reads an Eta safetensors checkpoint (model tensors under their own names,
optimizer state under `optimizer.<slot>.<name>`, metadata in `__metadata__`) and loads the model tensors with
`load_state_dict(strict=True)`; `optimizer.*` entries are ignored and `num_batches_tracked` may be stored as
a float32 or an int64 scalar (shape [] or [1]). It returns the checkpoint's metadata.

Usage:
  python3 tools/torch_models.py --self-test
      builds each model, prints its state_dict keys, shapes and parameter count, and runs a forward pass.
  python3 tools/torch_models.py --checkpoint F --model SPEC (--input-shape CxHxW --classes K | --vocab V) \
      --inputs IN.json [--outputs OUT.json] [--train-mode]
      loads an Eta checkpoint into the module and writes its outputs for the inputs: IN.json is
      {"shape": [...], "values": [...]} (flat, row-major; token ids for gpt); OUT.json gets
      {"shape": [...], "values": [...]} of the logits (float64 forward of the float32 weights unless --float32).
      The SPEC defaults to the checkpoint's `model` metadata.

Needs: torch, numpy (pip install torch numpy). The safetensors reader is built in (no `safetensors` package).
"""
import argparse
import json
import math
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# ---------------------------------------------------------------------------------------------------------------
# SPEC parsing

# For each kind: key -> (default, parser). Lists are '/'-separated integers.
_INT_LIST = "int-list"
_SPEC_KEYS = {
    "mlp": {"hidden": ([128], _INT_LIST), "act": ("relu", str), "init": ("kaiming", str)},
    "softmax": {"init": ("kaiming", str)},
    "linear": {"init": ("kaiming", str)},
    "cnn": {"channels": ([32, 64], _INT_LIST), "kernel": (3, int), "hidden": (128, int), "batchnorm": (False, bool),
            "dropout": (0.0, float)},
    "resnet": {"blocks": ([2, 2, 2], _INT_LIST), "width": (16, int)},
    "gpt": {"layers": (4, int), "heads": (4, int), "embed": (128, int), "context": (128, int), "mlp": (4, int),
            "dropout": (0.0, float)},
}
ACTIVATIONS = {"identity": nn.Identity, "relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid,
               "gelu": lambda: nn.GELU(approximate="none")}


def parse_spec(spec):
    """`'cnn:channels=32/64,batchnorm=true'` -> `('cnn', {'channels': [32, 64], 'kernel': 3, ...})` (defaults filled)."""
    name, _, body = spec.partition(":")
    kind = name.strip().lower()
    if kind not in _SPEC_KEYS:
        raise ValueError(f"unknown model '{name}' in '{spec}'; valid: {', '.join(_SPEC_KEYS)}")
    keys = _SPEC_KEYS[kind]
    options = {key: (list(default) if isinstance(default, list) else default) for key, (default, _) in keys.items()}
    for part in body.split(","):
        if not part:
            continue
        key, eq, value = part.partition("=")
        if not eq or key not in keys:
            raise ValueError(f"invalid part '{part}' in model '{spec}'; valid keys for {kind}: {', '.join(keys)}")
        parser = keys[key][1]
        try:
            if parser == _INT_LIST:
                options[key] = [int(v) for v in value.split("/")]
                if any(v <= 0 for v in options[key]):
                    raise ValueError
            elif parser is bool:
                if value.lower() not in ("true", "false", "1", "0"):
                    raise ValueError
                options[key] = value.lower() in ("true", "1")
            else:
                options[key] = parser(value)
        except ValueError:
            raise ValueError(f"invalid value '{value}' for '{key}' in model '{spec}'") from None
    if kind == "mlp" and options["act"].lower() not in ACTIVATIONS:
        raise ValueError(f"unknown activation '{options['act']}'; valid: {', '.join(ACTIVATIONS)}")
    if "init" in options and options["init"] not in ("kaiming", "xavier"):
        raise ValueError(f"invalid init '{options['init']}' in '{spec}'; valid: kaiming, xavier")
    if "dropout" in options and not 0 <= options["dropout"] < 1:
        raise ValueError(f"dropout {options['dropout']} in '{spec}' must be in [0, 1)")
    if kind == "gpt" and options["embed"] % options["heads"] != 0:
        raise ValueError(f"embed {options['embed']} is not divisible by heads {options['heads']} in '{spec}'")
    return kind, options


def parse_shape(shape):
    """`'1x28x28'`, `(1, 28, 28)`, `784` or `None` -> a tuple of ints (or None)."""
    if shape is None:
        return None
    if isinstance(shape, int):
        return (shape,)
    if isinstance(shape, str):
        return tuple(int(v) for v in shape.lower().split("x"))
    return tuple(int(v) for v in shape)


# ---------------------------------------------------------------------------------------------------------------
# Models


class MLP(nn.Module):
    """Eta's dense stack: `layer{i}` Linear layers, the activation after each hidden one; the input is flattened."""

    def __init__(self, features, hidden, classes, act="relu", init="kaiming"):
        super().__init__()
        widths = [features] + list(hidden) + [classes]
        self.count = len(widths) - 1
        for i in range(self.count):
            layer = nn.Linear(widths[i], widths[i + 1])
            # Eta's initialisation: uniform weights (kaiming: bound sqrt(6/fan_in); xavier: sqrt(6/(fan_in+fan_out))),
            # zero biases. Its draws come from Eta's own generator, so a comparison loads Eta's weights.
            bound = math.sqrt(6 / widths[i]) if init == "kaiming" else math.sqrt(6 / (widths[i] + widths[i + 1]))
            nn.init.uniform_(layer.weight, -bound, bound)
            nn.init.zeros_(layer.bias)
            setattr(self, f"layer{i}", layer)
        self.act = ACTIVATIONS[act.lower()]()

    def forward(self, x):
        x = x.reshape(x.shape[0], -1)
        for i in range(self.count):
            x = getattr(self, f"layer{i}")(x)
            if i < self.count - 1:
                x = self.act(x)
        return x


class CNN(nn.Module):
    """conv{i} [bn{i}] ReLU MaxPool2d(2) per entry of `channels`, then Flatten fc1 ReLU [Dropout] fc2."""

    def __init__(self, input_shape, classes, channels=(32, 64), kernel=3, hidden=128, batchnorm=False, dropout=0.0):
        super().__init__()
        if len(input_shape) != 3:
            raise ValueError(f"cnn needs a CxHxW input shape, got {input_shape}")
        c, h, w = input_shape
        self.stages = len(channels)
        self.batchnorm = batchnorm
        previous = c
        for i, width in enumerate(channels, start=1):
            setattr(self, f"conv{i}", nn.Conv2d(previous, width, kernel, padding=kernel // 2, bias=not batchnorm))
            if batchnorm:
                setattr(self, f"bn{i}", nn.BatchNorm2d(width))
            previous = width
            # Same padding keeps H and W for odd kernels; an even kernel grows them by one.
            h, w = h + 2 * (kernel // 2) - kernel + 1, w + 2 * (kernel // 2) - kernel + 1
            h, w = h // 2, w // 2
            if h < 1 or w < 1:
                raise ValueError(f"input {input_shape} is too small for {len(channels)} pooling stages")
        self.flat_features = previous * h * w
        self.fc1 = nn.Linear(self.flat_features, hidden)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.fc2 = nn.Linear(hidden, classes)

    def forward(self, x):
        for i in range(1, self.stages + 1):
            x = getattr(self, f"conv{i}")(x)
            if self.batchnorm:
                x = getattr(self, f"bn{i}")(x)
            x = F.max_pool2d(F.relu(x), 2)
        x = torch.flatten(x, 1)
        x = self.dropout(F.relu(self.fc1(x)))
        return self.fc2(x)


class BasicBlock(nn.Module):
    """conv1 (3x3, stride) bn1 ReLU conv2 (3x3) bn2, plus the identity or downsample (1x1 conv, BN); then ReLU."""

    def __init__(self, inputs, outputs, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(inputs, outputs, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(outputs)
        self.conv2 = nn.Conv2d(outputs, outputs, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(outputs)
        self.downsample = None
        if stride != 1 or inputs != outputs:
            self.downsample = nn.Sequential(nn.Conv2d(inputs, outputs, 1, stride=stride, bias=False),
                                            nn.BatchNorm2d(outputs))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        shortcut = x if self.downsample is None else self.downsample(x)
        return F.relu(out + shortcut)


class ResNet(nn.Module):
    """conv1 bn1 ReLU, stages layer{s} of BasicBlocks (width w*2^(s-1), stride 2 entering s>1), avg pool, fc."""

    def __init__(self, input_shape, classes, blocks=(2, 2, 2), width=16):
        super().__init__()
        if len(input_shape) != 3:
            raise ValueError(f"resnet needs a CxHxW input shape, got {input_shape}")
        self.conv1 = nn.Conv2d(input_shape[0], width, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.stages = len(blocks)
        previous = width
        for s, count in enumerate(blocks, start=1):
            stage_width = width * 2 ** (s - 1)
            stage = []
            for j in range(count):
                stage.append(BasicBlock(previous, stage_width, 2 if s > 1 and j == 0 else 1))
                previous = stage_width
            setattr(self, f"layer{s}", nn.Sequential(*stage))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(previous, classes)
        # torchvision's ResNet initialisation (Linear keeps PyTorch's default).
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        for s in range(1, self.stages + 1):
            x = getattr(self, f"layer{s}")(x)
        return self.fc(torch.flatten(self.pool(x), 1))


class CausalSelfAttention(nn.Module):
    """qkv = Linear(E, 3E) split [q | k | v], head h on columns h*D..(h+1)*D; causal softmax(q kᵀ/√D) v; proj."""

    def __init__(self, embed, heads, explicit=False):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(embed, 3 * embed)
        self.proj = nn.Linear(embed, embed)
        # explicit: the textbook formulation instead of F.scaled_dot_product_attention (the same function).
        self.explicit = explicit

    def forward(self, x):
        b, t, e = x.shape
        d = e // self.heads
        q, k, v = self.qkv(x).split(e, dim=2)
        q, k, v = (z.view(b, t, self.heads, d).transpose(1, 2) for z in (q, k, v))  # [B, H, T, D]
        if self.explicit:
            # μP fixtures set score_scale (tools/make_mup_fixtures.py); otherwise 1/sqrt(d).
            scale = getattr(self, "score_scale", None)
            scores = (q @ k.transpose(-2, -1)) * scale if scale is not None else (q @ k.transpose(-2, -1)) / math.sqrt(d)
            mask = torch.ones(t, t, dtype=torch.bool, device=x.device).tril()
            scores = scores.masked_fill(~mask, float("-inf"))
            y = torch.softmax(scores, dim=-1) @ v
        else:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.proj(y.transpose(1, 2).reshape(b, t, e))


class MLPBlock(nn.Module):
    def __init__(self, embed, ratio):
        super().__init__()
        self.fc = nn.Linear(embed, ratio * embed)
        self.proj = nn.Linear(ratio * embed, embed)

    def forward(self, x):
        return self.proj(F.gelu(self.fc(x)))


class Block(nn.Module):
    def __init__(self, embed, heads, ratio, dropout, explicit=False):
        super().__init__()
        self.ln1 = nn.LayerNorm(embed)
        self.attn = CausalSelfAttention(embed, heads, explicit)
        self.ln2 = nn.LayerNorm(embed)
        self.mlp = MLPBlock(embed, ratio)
        self.drop = nn.Dropout(dropout)

    def forward(self, x):
        x = x + self.drop(self.attn(self.ln1(x)))
        return x + self.drop(self.mlp(self.ln2(x)))


class GPT(nn.Module):
    """Token + learned position embeddings, Dropout, pre-LayerNorm blocks, ln_f, head (with bias). Input: token
    ids [B, T] with T <= context; output: logits [B, T, V]."""

    def __init__(self, vocab, layers=4, heads=4, embed=128, context=128, mlp=4, dropout=0.0, explicit=False):
        super().__init__()
        self.context = context
        self.token_embedding = nn.Embedding(vocab, embed)
        self.position_embedding = nn.Embedding(context, embed)
        self.drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(Block(embed, heads, mlp, dropout, explicit) for _ in range(layers))
        self.ln_f = nn.LayerNorm(embed)
        self.head = nn.Linear(embed, vocab)
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                nn.init.normal_(module.weight, 0.0, 0.02)
                if getattr(module, "bias", None) is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.LayerNorm):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    def forward(self, tokens):
        t = tokens.shape[1]
        if t > self.context:
            raise ValueError(f"{t} tokens exceed the context of {self.context}")
        positions = torch.arange(t, device=tokens.device)
        x = self.drop(self.token_embedding(tokens) + self.position_embedding(positions))
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln_f(x))


def build(spec, input_shape, classes_or_vocab, explicit_attention=False):
    """The module for an Eta model SPEC.

    spec: e.g. 'cnn:channels=32/64,kernel=3,hidden=128'. input_shape: 'CxHxW', a tuple, or the feature count
    (mlp/softmax/linear; ignored for gpt). classes_or_vocab: classes (outputs) or, for gpt, the vocabulary size.
    explicit_attention: gpt attention written out instead of F.scaled_dot_product_attention (same values).
    """
    kind, o = parse_spec(spec)
    shape = parse_shape(input_shape)
    if kind == "gpt":
        return GPT(classes_or_vocab, o["layers"], o["heads"], o["embed"], o["context"], o["mlp"], o["dropout"],
                   explicit_attention)
    if shape is None:
        raise ValueError(f"{kind} needs an input shape")
    if kind in ("mlp", "softmax", "linear"):
        hidden = o["hidden"] if kind == "mlp" else []
        return MLP(math.prod(shape), hidden, classes_or_vocab, o.get("act", "relu"), o["init"])
    if kind == "cnn":
        return CNN(shape, classes_or_vocab, o["channels"], o["kernel"], o["hidden"], o["batchnorm"], o["dropout"])
    return ResNet(shape, classes_or_vocab, o["blocks"], o["width"])


# ---------------------------------------------------------------------------------------------------------------
# Eta checkpoints

_DTYPES = {"F32": np.float32, "F64": np.float64, "F16": np.float16, "I64": np.int64, "I32": np.int32,
           "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_}


def read_safetensors(path):
    """(tensors: {name: np.ndarray}, metadata: {str: str}) of a safetensors file (little-endian)."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise ValueError(f"{path}: {len(data)} bytes is too short for a safetensors file")
    (length,) = struct.unpack("<Q", data[:8])
    if length > len(data) - 8:
        raise ValueError(f"{path}: header length {length} exceeds the file")
    header = json.loads(data[8:8 + length])
    payload = memoryview(data)[8 + length:]
    metadata = header.pop("__metadata__", {}) or {}
    tensors = {}
    for name, entry in header.items():
        if entry["dtype"] not in _DTYPES:
            raise ValueError(f"{path}: tensor {name} has dtype {entry['dtype']}, which this reader does not know")
        begin, end = entry["data_offsets"]
        dtype = np.dtype(_DTYPES[entry["dtype"]]).newbyteorder("<")
        array = np.frombuffer(payload[begin:end], dtype=dtype).reshape(entry["shape"])
        tensors[name] = array
    return tensors, metadata


def eta_state_dict(module, tensors):
    """The model tensors of an Eta checkpoint (everything but `optimizer.*`), converted to `module`'s dtypes
    and, for one-element tensors such as `num_batches_tracked`, its shapes."""
    target = module.state_dict()
    state = {}
    for name, array in tensors.items():
        if name.startswith("optimizer."):
            continue
        value = torch.from_numpy(np.array(array))
        if name in target:
            want = target[name]
            if want.numel() == 1 and value.numel() == 1 and tuple(value.shape) != tuple(want.shape):
                value = value.reshape(want.shape)
            if not want.is_floating_point() and value.is_floating_point():
                rounded = value.round()
                if not torch.equal(rounded, value):
                    raise ValueError(f"{name}: integer tensor stored with non-integer values {value.tolist()}")
                value = rounded
            value = value.to(want.dtype)
        state[name] = value
    return state


def load_eta_checkpoint(module, path):
    """Loads an Eta checkpoint's model tensors into `module` (load_state_dict strict=True, `optimizer.*`
    ignored). Returns the checkpoint's `__metadata__` dict."""
    tensors, metadata = read_safetensors(path)
    module.load_state_dict(eta_state_dict(module, tensors), strict=True)
    return metadata


# ---------------------------------------------------------------------------------------------------------------
# Command line


def describe(name, module):
    state = module.state_dict()
    parameters = sum(p.numel() for p in module.parameters())
    print(f"== {name}: {parameters} parameters, {len(state)} state_dict entries")
    for key, value in state.items():
        print(f"  {key:40s} {list(value.shape)} {str(value.dtype).replace('torch.', '')}")
    return parameters


def self_test():
    torch.manual_seed(0)
    cases = [
        ("mlp:hidden=128/64,act=relu", "1x28x28", 10),
        ("cnn:channels=32/64,kernel=3,hidden=128", "1x28x28", 10),
        ("cnn:channels=32/64,kernel=3,hidden=128,batchnorm=true,dropout=0.25", "3x32x32", 10),
        ("resnet:blocks=2/2/2,width=16", "1x28x28", 10),
        ("resnet:blocks=2/2/2,width=16", "3x32x32", 10),
        ("gpt:layers=4,heads=4,embed=128,context=128", None, 65),
    ]
    failures = 0
    for spec, shape, outputs in cases:
        module = build(spec, shape, outputs)
        parameters = describe(f"{spec} on {shape or 'tokens'}, {outputs} {'vocab' if shape is None else 'classes'}",
                              module)
        module.train()
        if shape is None:
            x = torch.randint(0, outputs, (2, module.context))
            expected = (2, module.context, outputs)
        else:
            x = torch.rand(2, *parse_shape(shape))
            expected = (2, outputs)
        y = module(x)
        ok = tuple(y.shape) == expected and bool(torch.isfinite(y).all())
        failures += not ok
        print(f"  forward: input {list(x.shape)} -> output {list(y.shape)} {'ok' if ok else 'FAILED'}")
        if spec == "cnn:channels=32/64,kernel=3,hidden=128" and parameters != 421642:
            print(f"  parameter count {parameters} != 421642 (the issue's CNN)")
            failures += 1
        if spec.startswith("gpt"):
            explicit = build(spec, shape, outputs, explicit_attention=True)
            explicit.load_state_dict(module.state_dict())
            difference = (explicit(x) - y).abs().max().item()
            print(f"  explicit attention vs F.scaled_dot_product_attention: max |diff| {difference:.2e}")
            failures += difference > 1e-5
    # The checkpoint loader: a synthetic Eta-style file (float32 num_batches_tracked, optimizer entries).
    import os
    import tempfile
    module = build("resnet:blocks=1/1,width=4", "1x8x8", 3)
    module.train()
    module(torch.rand(4, 1, 8, 8))
    names = list(module.state_dict().items())
    tensors = [(k, v.float()) for k, v in names] + [(f"optimizer.exp_avg.{k}", torch.zeros_like(v, dtype=torch.float32))
                                                    for k, v in module.named_parameters()]
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "c.safetensors")
        write_safetensors(path, tensors, {"format": "eta-checkpoint", "model": "resnet:blocks=1/1,width=4"})
        copy = build("resnet:blocks=1/1,width=4", "1x8x8", 3)
        metadata = load_eta_checkpoint(copy, path)
    same = all(torch.equal(copy.state_dict()[k], v) for k, v in names)
    print(f"== load_eta_checkpoint round trip ({metadata['model']}): {'ok' if same else 'FAILED'}")
    failures += not same
    print("self-test:", "ok" if failures == 0 else f"{failures} FAILED")
    return 1 if failures else 0


def write_safetensors(path, tensors, metadata):
    """Writes [(name, tensor)] as float32 (int64 for integer tensors) safetensors; for tests."""
    header, chunks, offset = {"__metadata__": metadata}, [], 0
    for name, tensor in tensors:
        array = tensor.detach().cpu().numpy()
        array = array.astype("<i8" if array.dtype.kind in "iu" else "<f4")
        raw = array.tobytes()
        header[name] = {"dtype": "I64" if array.dtype.kind == "i" else "F32", "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(chunks))


def forward_checkpoint(args):
    tensors, metadata = read_safetensors(args.checkpoint)
    spec = args.model or metadata.get("model")
    if not spec:
        sys.exit("--model is needed: the checkpoint has no 'model' metadata")
    kind, _ = parse_spec(spec)
    outputs = args.vocab if kind == "gpt" else args.classes
    if outputs is None:
        sys.exit("--vocab (gpt) or --classes is needed")
    module = build(spec, args.input_shape, outputs)
    module.load_state_dict(eta_state_dict(module, tensors), strict=True)
    if not args.float32:
        module.double()
    module.train(args.train_mode)
    with open(args.inputs) as f:
        given = json.load(f)
    if kind == "gpt":
        x = torch.tensor(given["values"], dtype=torch.long).reshape(given["shape"])
    else:
        x = torch.tensor(given["values"], dtype=torch.float64 if not args.float32 else torch.float32)
        x = x.reshape(given["shape"])
    with torch.no_grad():
        y = module(x)
    result = {"model": spec, "shape": list(y.shape), "values": [float(v) for v in y.reshape(-1)]}
    text = json.dumps(result)
    if args.outputs:
        with open(args.outputs, "w") as f:
            f.write(text + "\n")
    else:
        print(text)
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--self-test", action="store_true", help="build each model, print its tensors, run it")
    parser.add_argument("--checkpoint", help="an Eta checkpoint (.safetensors) to run on --inputs")
    parser.add_argument("--model", help="the model SPEC (default: the checkpoint's 'model' metadata)")
    parser.add_argument("--input-shape", help="CxHxW (or a feature count for mlp)")
    parser.add_argument("--classes", type=int)
    parser.add_argument("--vocab", type=int)
    parser.add_argument("--inputs", help='JSON {"shape": [...], "values": [...]}')
    parser.add_argument("--outputs", help="where to write the logits as JSON (default: stdout)")
    parser.add_argument("--train-mode", action="store_true", help="BatchNorm batch statistics, Dropout on")
    parser.add_argument("--float32", action="store_true", help="run in float32 instead of float64")
    args = parser.parse_args()
    if args.self_test:
        return self_test()
    if args.checkpoint:
        if not args.inputs:
            parser.error("--checkpoint needs --inputs")
        return forward_checkpoint(args)
    parser.print_help()
    return 64


if __name__ == "__main__":
    sys.exit(main())
