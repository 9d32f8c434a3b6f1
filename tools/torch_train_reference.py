#!/usr/bin/env python3
"""PyTorch CPU accuracy references for issue 12's bar: the same models, data handling, optimizer and schedule
as Eta, so Eta's results can be compared with PyTorch's.

--task mnist --data DIR
    The CNN (default cnn:channels=32/64,kernel=3,hidden=128; any image SPEC via --model) on the MNIST IDX files
    in DIR: train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte,
    each also accepted as `train-images.idx3-ubyte` etc. and gzipped (`.gz`). Pixels / 255. The official split:
    all 60,000 training images train (shuffled each epoch with a seeded generator), the 10,000 t10k images are the
    test set, never trained on. 5 epochs, batch 128, Adam lr 1e-3 by default. Prints the test loss and accuracy
    after each epoch, then one JSON object.

--task text --data FILE
    A character-level GPT (default gpt:layers=4,heads=4,embed=128,context=128) on a UTF-8 text file. The first
    90% of the characters (floor(0.9 * n)) train and the rest validate; the vocabulary is the sorted set of
    the training part's characters (Python code points; a validation character outside it is an error).
    Each step takes --batch-size (32) windows of context+1 characters at uniformly random starts in the training
    part (seeded generator): inputs are the first `context` characters, targets the next ones. Validation is a
    fixed set of --val-batches (50) batches of windows from the validation part (another seeded generator), the
    mean cross-entropy over all their positions, in nats and in bits per character (nats / ln 2).
    AdamW (lr 3e-4, betas 0.9/0.95, eps 1e-8, weight_decay 0.1 on every parameter unless --no-decay-1d), gradient
    clipping to global norm --clip 1.0 (0: off), --steps 2000. Learning rate of step k (0-based):
      k < W (--warmup W):  lr * (s + (1 - s) * k / W), s = --warmup-start-factor (PyTorch LinearLR, 1/3)
      after:               cosine from lr to lr * --min-lr-ratio (0.1) over steps - W steps
                           (lr_min + (lr - lr_min) * (1 + cos(pi * (k - W) / (steps - W))) / 2), or
                           constant with --schedule constant.
    In Eta's terms: --warmup linear:start_factor=s,total_iters=W --schedule cosine:t_max=steps-W,eta_min=lr*ratio
    (the JSON carries these as `eta_flags`). Prints the validation loss every --eval-every (250) steps and at the
    end, then one JSON object.

Usage:
  tools/get-mnist.sh /tmp/mnist && python3 tools/torch_train_reference.py --task mnist --data /tmp/mnist
  python3 tools/torch_train_reference.py --task text --data shakespeare.txt --steps 5000 --warmup 100
Common options: --threads T (default os.cpu_count()), --seed S, --model SPEC, --lr, --batch-size.
Quick checks: --limit-train N / --limit-test N (mnist) use only the first N images.

Needs: torch, numpy (pip install torch numpy); imports tools/torch_models.py.
"""
import argparse
import gzip
import json
import math
import os
import pathlib
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import torch_models  # noqa: E402

# ---------------------------------------------------------------------------------------------------------------
# MNIST


def find_idx(folder, stem):
    """The path of `stem` (e.g. 'train-images-idx3-ubyte') in either naming, gzipped or not."""
    dotted = stem.replace("-idx", ".idx")
    for name in (stem, dotted, stem + ".gz", dotted + ".gz"):
        path = os.path.join(folder, name)
        if os.path.isfile(path):
            return path
    raise SystemExit(f"{folder}: no {stem} (nor {dotted}, nor either with .gz)")


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    zero, kind, dims = struct.unpack(">HBB", data[:4])
    if zero != 0 or kind != 0x08:
        raise SystemExit(f"{path}: not an unsigned-byte IDX file")
    shape = struct.unpack(f">{dims}I", data[4:4 + 4 * dims])
    array = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims)
    if array.size != math.prod(shape):
        raise SystemExit(f"{path}: {array.size} bytes of data for shape {shape}")
    return array.reshape(shape)


def load_mnist(folder, part):
    images = read_idx(find_idx(folder, f"{part}-images-idx3-ubyte"))
    labels = read_idx(find_idx(folder, f"{part}-labels-idx1-ubyte"))
    if len(images) != len(labels):
        raise SystemExit(f"{folder}: {len(images)} {part} images but {len(labels)} labels")
    x = torch.from_numpy(images.astype(np.float32) / 255).unsqueeze(1)  # N x 1 x H x W
    return x, torch.from_numpy(labels.astype(np.int64))


def make_optimizer(args, parameters):
    if args.optimizer == "adam":
        return torch.optim.Adam(parameters, lr=args.lr, betas=(args.beta1, args.beta2), eps=args.eps,
                                weight_decay=args.weight_decay)
    if args.optimizer == "adamw":
        return torch.optim.AdamW(parameters, lr=args.lr, betas=(args.beta1, args.beta2), eps=args.eps,
                                 weight_decay=args.weight_decay)
    return torch.optim.SGD(parameters, lr=args.lr, momentum=args.momentum, weight_decay=args.weight_decay)


def evaluate_images(model, x, y, batch):
    model.eval()
    loss, correct = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(x), batch):
            logits = model(x[start:start + batch])
            target = y[start:start + batch]
            loss += F.cross_entropy(logits, target, reduction="sum").item()
            correct += (logits.argmax(1) == target).sum().item()
    model.train()
    return loss / len(x), correct / len(x)


def run_mnist(args):
    spec = args.model or "cnn:channels=32/64,kernel=3,hidden=128"
    lr = args.lr if args.lr is not None else 1e-3
    args.lr = lr
    train_x, train_y = load_mnist(args.data, "train")
    test_x, test_y = load_mnist(args.data, "t10k")
    if args.limit_train:
        train_x, train_y = train_x[:args.limit_train], train_y[:args.limit_train]
    if args.limit_test:
        test_x, test_y = test_x[:args.limit_test], test_y[:args.limit_test]
    classes = 10
    torch.manual_seed(args.seed)
    model = torch_models.build(spec, tuple(train_x.shape[1:]), classes)
    model.train()
    optimizer = make_optimizer(args, model.parameters())
    generator = torch.Generator().manual_seed(args.seed)
    batch = args.batch_size or 128
    history = []
    start = time.perf_counter()
    train_seconds = 0.0
    steps = 0
    print(f"mnist: {len(train_x)} train, {len(test_x)} test images; {spec}; {args.optimizer} lr {lr}, batch {batch}, "
          f"{args.epochs} epochs, {torch.get_num_threads()} threads", flush=True)
    for epoch in range(1, args.epochs + 1):
        epoch_start = time.perf_counter()
        order = torch.randperm(len(train_x), generator=generator)
        loss_sum, correct = 0.0, 0
        for first in range(0, len(order), batch):
            index = order[first:first + batch]
            logits = model(train_x[index])
            loss = F.cross_entropy(logits, train_y[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if args.clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)
            optimizer.step()
            steps += 1
            loss_sum += loss.item() * len(index)
            correct += (logits.argmax(1) == train_y[index]).sum().item()
        train_seconds += time.perf_counter() - epoch_start
        test_loss, test_accuracy = evaluate_images(model, test_x, test_y, 1000)
        entry = {"epoch": epoch, "train_loss": loss_sum / len(train_x), "train_accuracy": correct / len(train_x),
                 "test_loss": test_loss, "test_accuracy": test_accuracy,
                 "epoch_seconds": time.perf_counter() - epoch_start}
        history.append(entry)
        print(f"epoch {epoch}: train loss {entry['train_loss']:.4f} acc {entry['train_accuracy']:.4f}, "
              f"test loss {test_loss:.4f} acc {test_accuracy:.4f} ({entry['epoch_seconds']:.1f} s)", flush=True)
    wall = time.perf_counter() - start
    result = {
        "task": "mnist", "model": spec, "optimizer": args.optimizer, "lr": lr, "batch_size": batch,
        "epochs": args.epochs, "steps": steps, "seed": args.seed, "threads": torch.get_num_threads(),
        "train_images": len(train_x), "test_images": len(test_x),
        "test_loss": history[-1]["test_loss"] if history else None,
        "test_accuracy": history[-1]["test_accuracy"] if history else None,
        "history": history, "wall_seconds": wall,
        "samples_per_second": steps and len(train_x) * args.epochs / train_seconds,
        "torch_version": torch.__version__,
    }
    print(json.dumps(result))
    return 0


# ---------------------------------------------------------------------------------------------------------------
# Text


def learning_rate(args, k):
    """The schedule of step k (0-based); see the header."""
    if k < args.warmup:
        s = args.warmup_start_factor
        return args.lr * (s + (1 - s) * k / args.warmup)
    if args.schedule == "constant":
        return args.lr
    lr_min = args.lr * args.min_lr_ratio
    span = max(1, args.steps - args.warmup)
    return lr_min + (args.lr - lr_min) * (1 + math.cos(math.pi * (k - args.warmup) / span)) / 2


def windows(data, starts, context):
    """[len(starts), context] inputs and targets from the windows data[start : start + context + 1]."""
    offsets = torch.arange(context + 1)
    chunk = data[starts.unsqueeze(1) + offsets]
    return chunk[:, :-1], chunk[:, 1:]


def run_text(args):
    spec = args.model or "gpt:layers=4,heads=4,embed=128,context=128"
    kind, options = torch_models.parse_spec(spec)
    if kind != "gpt":
        raise SystemExit(f"--task text needs a gpt model, got '{spec}'")
    if args.lr is None:
        args.lr = 3e-4
    context = options["context"]
    with open(args.data, encoding="utf-8-sig") as f:  # as Eta reads text: a leading BOM skipped
        text = f.read()
    split = int(len(text) * 0.9)
    train_text, val_text = text[:split], text[split:]
    vocabulary = sorted(set(train_text))
    index = {c: i for i, c in enumerate(vocabulary)}
    unknown = sorted(set(val_text) - set(vocabulary))
    if unknown:
        raise SystemExit(f"{args.data}: the validation part has characters absent from the training part: "
                         f"{''.join(unknown)!r}")
    if len(train_text) < context + 1 or len(val_text) < context + 1:
        raise SystemExit(f"{args.data}: {len(text)} characters is too short for windows of {context + 1} characters")
    train = torch.tensor([index[c] for c in train_text], dtype=torch.long)
    val = torch.tensor([index[c] for c in val_text], dtype=torch.long)
    batch = args.batch_size or 32

    torch.manual_seed(args.seed)
    model = torch_models.build(spec, None, len(vocabulary))
    model.train()
    if args.no_decay_1d:
        decay = [p for p in model.parameters() if p.dim() >= 2]
        no_decay = [p for p in model.parameters() if p.dim() < 2]
        groups = [{"params": decay}, {"params": no_decay, "weight_decay": 0.0}]
    else:
        groups = model.parameters()
    optimizer = torch.optim.AdamW(groups, lr=args.lr, betas=(args.beta1, args.beta2), eps=args.eps,
                                  weight_decay=args.weight_decay)

    train_generator = torch.Generator().manual_seed(args.seed)
    val_generator = torch.Generator().manual_seed(args.seed + 1)
    val_batches = [torch.randint(0, len(val) - context, (batch,), generator=val_generator)
                   for _ in range(args.val_batches)]

    def validate():
        model.eval()
        total = 0.0
        with torch.no_grad():
            for starts in val_batches:
                x, y = windows(val, starts, context)
                total += F.cross_entropy(model(x).reshape(-1, len(vocabulary)), y.reshape(-1)).item()
        model.train()
        return total / len(val_batches)

    print(f"text: {len(train)} train, {len(val)} validation characters, vocabulary {len(vocabulary)}; {spec}; "
          f"AdamW lr {args.lr} betas {args.beta1}/{args.beta2} wd {args.weight_decay}, warmup {args.warmup}, "
          f"{args.schedule} to x{args.min_lr_ratio}, clip {args.clip}, batch {batch}, {args.steps} steps, "
          f"{torch.get_num_threads()} threads", flush=True)
    history = []
    start = time.perf_counter()
    train_seconds = 0.0
    recent = []
    for k in range(args.steps):
        step_start = time.perf_counter()
        lr = learning_rate(args, k)
        for group in optimizer.param_groups:
            group["lr"] = lr
        starts = torch.randint(0, len(train) - context, (batch,), generator=train_generator)
        x, y = windows(train, starts, context)
        loss = F.cross_entropy(model(x).reshape(-1, len(vocabulary)), y.reshape(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if args.clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)
        optimizer.step()
        train_seconds += time.perf_counter() - step_start
        recent.append(loss.item())
        if (k + 1) % args.eval_every == 0 or k + 1 == args.steps:
            val_loss = validate()
            entry = {"step": k + 1, "lr": lr, "train_loss": sum(recent) / len(recent), "val_loss": val_loss,
                     "val_bits_per_char": val_loss / math.log(2), "elapsed_seconds": time.perf_counter() - start}
            recent = []
            history.append(entry)
            print(f"step {k + 1}: lr {lr:.3g}, train loss {entry['train_loss']:.4f}, val loss {val_loss:.4f} nats, "
                  f"{entry['val_bits_per_char']:.4f} bits/char ({entry['elapsed_seconds']:.1f} s)", flush=True)
    wall = time.perf_counter() - start
    flags = (f"--steps {args.steps} --batch-size {batch} --lr {args.lr} --val-batches {args.val_batches}"
             + (f" --warmup linear:start_factor={args.warmup_start_factor},total_iters={args.warmup}"
                if args.warmup else "")
             + (f" --schedule cosine:t_max={max(1, args.steps - args.warmup)},eta_min={args.lr * args.min_lr_ratio}"
                if args.schedule == "cosine" else "")
             + (f" --clip {args.clip}" if args.clip > 0 else ""))
    result = {
        "task": "text", "model": spec, "data": str(args.data), "characters": len(text), "vocabulary": len(vocabulary),
        "optimizer": f"adamw:lr={args.lr},betas={args.beta1}/{args.beta2},eps={args.eps},"
                     f"weight_decay={args.weight_decay}", "steps": args.steps, "batch_size": batch,
        "warmup": args.warmup, "warmup_start_factor": args.warmup_start_factor, "schedule": args.schedule,
        "min_lr_ratio": args.min_lr_ratio, "clip": args.clip, "val_batches": args.val_batches, "seed": args.seed,
        "threads": torch.get_num_threads(),
        "val_loss": history[-1]["val_loss"] if history else None,
        "val_bits_per_char": history[-1]["val_bits_per_char"] if history else None,
        "history": history, "wall_seconds": wall,
        "samples_per_second": args.steps * batch / train_seconds if train_seconds else None,
        "tokens_per_second": args.steps * batch * context / train_seconds if train_seconds else None,
        "eta_flags": flags, "torch_version": torch.__version__,
    }
    print(json.dumps(result))
    return 0


def main():
    parser = argparse.ArgumentParser(description="PyTorch CPU accuracy references (MNIST CNN, character GPT)")
    parser.add_argument("--task", choices=["mnist", "text"], required=True)
    parser.add_argument("--data", required=True, help="mnist: the IDX folder; text: the text file")
    parser.add_argument("--model", help="model SPEC (default: the issue's CNN or GPT)")
    parser.add_argument("--optimizer", choices=["adam", "adamw", "sgd"], default="adam",
                        help="mnist only (text always uses AdamW); default adam")
    parser.add_argument("--lr", type=float, help="default 1e-3 (mnist), 3e-4 (text)")
    parser.add_argument("--beta1", type=float, help="default 0.9")
    parser.add_argument("--beta2", type=float, help="default 0.999 (mnist), 0.95 (text)")
    parser.add_argument("--eps", type=float, default=1e-8)
    parser.add_argument("--weight-decay", type=float, help="default 0 (mnist), 0.1 (text)")
    parser.add_argument("--momentum", type=float, default=0.9, help="sgd's momentum")
    parser.add_argument("--batch-size", type=int, help="default 128 (mnist), 32 (text)")
    parser.add_argument("--epochs", type=int, default=5, help="mnist (default 5)")
    parser.add_argument("--limit-train", type=int, help="mnist: only the first N training images")
    parser.add_argument("--limit-test", type=int, help="mnist: only the first N test images")
    parser.add_argument("--steps", type=int, default=2000, help="text (default 2000)")
    parser.add_argument("--warmup", type=int, default=0, help="text: linear warmup steps (default 0)")
    parser.add_argument("--warmup-start-factor", type=float, default=1 / 3,
                        help="text: the warmup's first factor (default 1/3, PyTorch LinearLR's)")
    parser.add_argument("--schedule", choices=["cosine", "constant"], default="cosine", help="text (default cosine)")
    parser.add_argument("--min-lr-ratio", type=float, default=0.1, help="text: cosine's end lr / lr (default 0.1)")
    parser.add_argument("--clip", type=float, help="global gradient-norm clip; 0: off (default 1.0 text, 0 mnist)")
    parser.add_argument("--val-batches", type=int, default=50, help="text (default 50)")
    parser.add_argument("--eval-every", type=int, default=250, help="text (default 250)")
    parser.add_argument("--no-decay-1d", action="store_true", help="text: no weight decay on biases and norms")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    text = args.task == "text"
    args.beta1 = 0.9 if args.beta1 is None else args.beta1
    args.beta2 = (0.95 if text else 0.999) if args.beta2 is None else args.beta2
    args.weight_decay = (0.1 if text else 0.0) if args.weight_decay is None else args.weight_decay
    args.clip = (1.0 if text else 0.0) if args.clip is None else args.clip
    if text and not 0 < args.warmup_start_factor <= 1:
        parser.error("--warmup-start-factor must be in (0, 1]")
    if text and args.warmup >= args.steps and args.steps > 0 and args.schedule == "cosine":
        parser.error("--warmup must be shorter than --steps")
    torch.set_num_threads(args.threads)
    return run_text(args) if text else run_mnist(args)


if __name__ == "__main__":
    sys.exit(main())
