// LAMB in Optax's form (optax.lamb) with PyTorch Adam's moment roundings: two block passes. Blocks never straddle a
// tensor; the second pass is given its tensor's sums of p² and u².

// LAMB's Adam direction plus decoupled decay: u = m̂ / (sqrt(v̂) + eps) + wd·p.
ETA_INLINE real lamb_direction(real m, real v, real param, float c3, float c4, float c5, float c6) {
    const real u = (m / c3) / (eta_sqrt(v / c4) + c5);
    return c6 != 0.0f ? eta_fma((real)c6, param, u) : u;
}

// Pass 1. c0 1-beta1, c1 beta2, c2 1-beta2, c3 1-beta1^t, c4 1-beta2^t, c5 eps, c6 weight_decay.
// s0 exp_avg, s1 exp_avg_sq. Sums: p², u².
BLOCK_SUMS(lamb_moments, 0) {
    const real grad = LOAD(g), param = LOAD(p);
    const real m = eta_lerp(LOAD(s0), grad, c0);
    const real v = eta_fma(c2 * grad, grad, LOAD(s1) * c1);
    STORE(s0, m);
    STORE(s1, v);
    const real u = lamb_direction(m, v, param, c3, c4, c5, c6);
    SUMS(param * param, u * u);
}

// Pass 2: p -= lr · (||p|| / ||u||) · u per tensor (ratio 1 when either norm is 0). c7 lr; as pass 1.
BLOCK_APPLY(lamb_update, 0) {
    const float ratio = (sum_a > 0.0f && sum_b > 0.0f) ? eta_sqrt(sum_a) / eta_sqrt(sum_b) : 1.0f;
    const float step = -(c7 * ratio);
    const real param = LOAD(p);
    STORE(p, eta_fma((real)step, lamb_direction(LOAD(s0), LOAD(s1), param, c3, c4, c5, c6), param));
}
