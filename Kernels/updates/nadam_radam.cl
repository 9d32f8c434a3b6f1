// NAdam and RAdam (torch.optim.NAdam/RAdam) open alike: weight decay (decoupled, flag OPT_A, or L2), then Adam's two
// moments, stored to s0 (exp_avg) and s1 (exp_avg_sq) and kept as exp_avg and exp_avg_sq.
#define ADAM_MOMENTS(WEIGHT_DECAY, DECAY_FACTOR, ONE_MINUS_BETA1, BETA2, ONE_MINUS_BETA2) \
    if (WEIGHT_DECAY != 0.0f) { \
        if (flags & OPT_A) param = param * DECAY_FACTOR; else grad = eta_fma((real)WEIGHT_DECAY, param, grad); \
    } \
    const real exp_avg = eta_lerp(LOAD_STATE(s0), grad, ONE_MINUS_BETA1); \
    const real exp_avg_sq = eta_fma(ONE_MINUS_BETA2 * grad, grad, LOAD_STATE(s1) * BETA2); \
    STORE_STATE(s0, exp_avg); \
    STORE_STATE(s1, exp_avg_sq);

// NAdam. c0 1-beta1, c1 beta2, c2 1-beta2, c3 1-beta2^t, c4 eps, c5 weight_decay, c6 1-lr*wd,
// c7 -lr(1-mu)/(1-mu_product), c8 -lr*mu_next/(1-mu_product_next).
UPDATE(nadam_update, 0) {
    ADAM_MOMENTS(c5, c6, c0, c1, c2)
    const real denom = eta_sqrt(exp_avg_sq / c3) + c4;
    param = param + c7 * grad / denom;
    STORE_PARAM(param + c8 * exp_avg / denom);
}

// RAdam. c0 1-beta1, c1 beta2, c2 1-beta2, c3 1-beta1^t, c4 lr, c5 sqrt(1-beta2^t), c6 rect, c7 eps,
// c8 weight_decay, c9 1-lr*wd. Flag OPT_B: the rectified step (rho_t > 5).
UPDATE(radam_update, 0) {
    ADAM_MOMENTS(c8, c9, c0, c1, c2)
    real step = exp_avg / c3 * c4;
    if (flags & OPT_B) step = step * (c5 / (eta_sqrt(exp_avg_sq) + c7)) * c6;
    STORE_PARAM(param - step);
}
