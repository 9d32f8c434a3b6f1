// D-Adaptation Adam (dadaptation.DAdaptAdam 3.2, layer_scale 1): a block pass for d's two sums, then an elementwise
// update with the d the host finished. Roundings as prodigy.cl.

// Pass 1. c0 coupled weight decay, c1 eps, c2 beta1, c3 dlr(1-beta1), c4 beta2, c5 1-beta2, c6 sqrt(beta2),
// c7 dlr(1-sqrt(beta2)). s0 s, s1 exp_avg, s2 exp_avg_sq. Sums: g·s/(sqrt(v)+eps) with the old s and v, |s| with the
// new s.
BLOCK_SUMS(dadapt_adam_accumulate, 0) {
    real grad = LOAD(g);
    if (c0 != 0.0f) grad = eta_fma((real)c0, LOAD(p), grad);
    const real v = LOAD(s2), s = LOAD(s0);
    const real dot = grad * (s / (eta_sqrt(v) + c1));
    STORE(s1, eta_fma((real)c3, grad, LOAD(s1) * c2));
    STORE(s2, eta_fma(c5 * grad, grad, v * c4));
    const real s_new = eta_fma((real)c7, grad, s * c6);
    STORE(s0, s_new);
    SUMS(dot, eta_fabs(s_new));
}

// Pass 2: p -= m / (sqrt(v) + eps), after decoupled decay. c0 eps, c1 -weight_decay·dlr (decoupled; 0 otherwise).
// s0 exp_avg, s1 exp_avg_sq.
UPDATE(dadapt_adam_update, 0) {
    const real denom = eta_sqrt(LOAD_STATE(s1)) + c0;
    if (c1 != 0.0f) param = eta_fma((real)c1, param, param);
    STORE_PARAM(param + (-1.0f) * LOAD_STATE(s0) / denom);
}
