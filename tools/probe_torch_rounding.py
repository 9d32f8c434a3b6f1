#!/usr/bin/env python3
"""Measures which PyTorch CPU tensor ops round like a fused multiply-add, the evidence behind Eta's Reference.

For each op it reports the fraction of elements that equal a separately rounded float32 expression and a
fused one (a*b+c computed exactly in float64, then rounded once: exact, since a float32 product fits in
float64). Sizes cover PyTorch's scalar tail (3) and its vectorised loop (4099).

Usage: pip install torch && python3 tools/probe_torch_rounding.py
"""
import numpy as np
import torch

f32, f64 = np.float32, np.float64


def fused(a, b, c):
    return (f64(a) * f64(b) + f64(c)).astype(f32)


def main():
    torch.manual_seed(0)
    print(f"torch {torch.__version__}")
    for size in (3, 4099):
        rows = []
        for _ in range(200 if size == 3 else 1):
            s, a = torch.rand(size), torch.randn(size)
            b = torch.rand(size) + 0.1
            S, A, B = s.numpy(), a.numpy(), b.numpy()
            rows.append({
                "add(alpha) separate": s.clone().add_(a, alpha=0.01).numpy() == S + f32(0.01) * A,
                "add(alpha) fused": s.clone().add_(a, alpha=0.01).numpy() == fused(f32(0.01), A, S),
                "lerp(w=0.1) separate": s.clone().lerp_(a, 0.1).numpy() == S + f32(0.1) * (A - S),
                "lerp(w=0.1) fused": s.clone().lerp_(a, 0.1).numpy() == fused(f32(0.1), A - S, S),
                "lerp(w=0.7) fused(w-1)": s.clone().lerp_(a, 0.7).numpy() == fused(f32(0.7) - f32(1), A - S, A),
                "addcmul separate": s.clone().addcmul_(a, a, value=1e-3).numpy() == S + (f32(1e-3) * A) * A,
                "addcmul fused": s.clone().addcmul_(a, a, value=1e-3).numpy() == fused(f32(1e-3) * A, A, S),
                "addcdiv (v*a)/b": s.clone().addcdiv_(a, b, value=-0.0123).numpy() == S + (f32(-0.0123) * A) / B,
                "div by scalar": (b / 0.9995).numpy() == B / f32(0.9995),
                "sqrt correctly rounded": b.sqrt().numpy() == np.sqrt(B),
            })
        print(f"size {size}:")
        for key in rows[0]:
            print(f"  {key:28s} {np.mean([row[key].mean() for row in rows]):.4f}")


if __name__ == "__main__":
    main()
