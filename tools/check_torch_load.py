#!/usr/bin/env python3
"""Loads Eta's deep-model checkpoints into the equivalent PyTorch modules with load_state_dict(strict=True) and
compares their evaluation-mode outputs with Eta's on the same inputs (the issue-12 bar: within 1e-5).

The checkpoints come from Eta's own test (CheckpointTorchTests: a CNN with BatchNorm, a ResNet and a GPT, each
trained a few steps on each backend), which keeps them, the inputs and Eta's outputs in ETA_TORCH_CHECK_DIR:

  tools/check_torch_load.py            # runs that test into a temporary folder, then checks every case
  tools/check_torch_load.py DIR        # checks the cases already in DIR

Bound: max |PyTorch − Eta| ≤ 1e-5 · max(1, max |PyTorch|) per case, PyTorch in float64 on Eta's float32 tensors.
Needs: torch, numpy (pip install torch numpy); imports tools/torch_models.py.
"""
import json
import os
import pathlib
import subprocess
import sys
import tempfile

import torch

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import torch_models  # noqa: E402


def shape_of(text):
    return tuple(int(part) for part in text.split("x"))


def check(folder):
    cases = sorted(folder.glob("*.json"))
    if not cases:
        print(f"check_torch_load: no cases in {folder}", file=sys.stderr)
        return 1
    worst_all, failed = 0.0, 0
    for path in cases:
        case = json.loads(path.read_text())
        spec = case["spec"]
        input_shape = shape_of(case["input_shape"]) if case["input_shape"] else None
        module = torch_models.build(spec, input_shape, case["outputs"])
        torch_models.load_eta_checkpoint(module, str(folder / case["checkpoint"]))  # strict=True
        module = module.double().eval()
        values = torch.tensor(case["inputs"]["values"], dtype=torch.float64).reshape(case["inputs"]["shape"])
        if spec.startswith("gpt"):
            values = values.long()
        with torch.no_grad():
            logits = module(values).reshape(-1).tolist()
        eta = case["eta_outputs"]["values"]
        scale = max(1.0, max(abs(v) for v in logits))
        worst = max(abs(a - b) for a, b in zip(logits, eta))
        ok = len(logits) == len(eta) and worst <= 1e-5 * scale
        failed += 0 if ok else 1
        worst_all = max(worst_all, worst / scale)
        print(f"{path.stem:28s} {spec:48s} {len(eta):5d} outputs  max |torch - eta| {worst:.2e}  "
              f"{'ok' if ok else 'FAIL'}")
    print(f"check_torch_load: {len(cases) - failed}/{len(cases)} checkpoints load strictly into PyTorch and agree "
          f"within 1e-5 (worst {worst_all:.1e} relative)")
    return 1 if failed else 0


def main():
    if len(sys.argv) > 1:
        return check(pathlib.Path(sys.argv[1]))
    with tempfile.TemporaryDirectory() as folder:
        environment = dict(os.environ, ETA_TORCH_CHECK_DIR=folder)
        subprocess.run(["swift", "test", "--disable-xctest", "--filter", "CheckpointTorchTests"], cwd=HERE.parent,
                       env=environment, check=True, stdout=subprocess.DEVNULL)
        return check(pathlib.Path(folder))


if __name__ == "__main__":
    sys.exit(main())
