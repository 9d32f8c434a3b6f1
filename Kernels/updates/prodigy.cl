// Prodigy (prodigyopt.Prodigy 1.1, slice_p = 1): a block pass for d's two sums, then an elementwise update with the
// d the host finished (a Python float in the package). Roundings of the package's torch ops on the CPU: add(alpha)
// and addcmul fuse, mul/div/addcdiv do not.

// Pass 1. c0 coupled weight decay (0 when decoupled), c1 beta1, c2 d(1-beta1), c3 beta2, c4 d²(1-beta2), c5 beta3,
// c6 (d/d0)·dlr (or (d/d0)·d with safeguard_warmup). Flag OPT_A: beta1 > 0 (exp_avg is kept). s0 p0, s1 s,
// s2 exp_avg (when OPT_A), s3 exp_avg_sq. Sums: g·(p0 - p), |s|.
BLOCK_SUMS(prodigy_accumulate, OPT_A) {
    const real param = LOAD(p);
    real grad = LOAD(g);
    if (c0 != 0.0f) grad = eta_fma((real)c0, param, grad);
    const real dot = grad * (LOAD(s0) - param);
    if (flags & OPT_A) STORE(s2, eta_fma((real)c2, grad, LOAD(s2) * c1));
    STORE(s3, eta_fma(c4 * grad, grad, LOAD(s3) * c3));
    const real s = eta_fma((real)c6, grad, LOAD(s1) * c5);
    STORE(s1, s);
    SUMS(dot, eta_fabs(s));
}

// Pass 2. c0 coupled weight decay, c1 -dlr, c2 d·eps (the new d), c3 -weight_decay·dlr (decoupled; 0 otherwise),
// c4 -dlr·d. Flag OPT_A as pass 1. s0 exp_avg (when OPT_A), s1 exp_avg_sq.
UPDATE(prodigy_update, OPT_A) {
    const real denom = eta_sqrt(LOAD_STATE(s1)) + c2;
    if (flags & OPT_A) {
        if (c3 != 0.0f) param = eta_fma((real)c3, param, param);
        param = param + c1 * LOAD_STATE(s0) / denom;
    } else {
        if (c0 != 0.0f) grad = eta_fma((real)c0, param, grad);
        if (c3 != 0.0f) param = eta_fma((real)c3, param, param);
        param = param + c4 * grad / denom;
    }
    STORE_PARAM(param);
}
