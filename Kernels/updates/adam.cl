// Adam and AdamW (torch.optim.Adam/AdamW). c0 weight_decay, c1 1-lr*wd, c2 1-beta1, c3 beta2, c4 1-beta2,
// c5 lr/(1-beta1^t), c6 sqrt(1-beta2^t), c7 eps. Flags: OPT_A amsgrad, OPT_B decoupled weight decay.
// s0 exp_avg, s1 exp_avg_sq, s2 max_exp_avg_sq.
UPDATE(adam_update, OPT_A) {
    if (c0 != 0.0f) {
        if (flags & OPT_B) param = param * c1;
        else grad = eta_fma((real)c0, param, grad);
    }
    const real exp_avg = eta_lerp(LOAD_STATE(s0), grad, c2);
    const real exp_avg_sq = eta_fma(c4 * grad, grad, LOAD_STATE(s1) * c3);
    STORE_STATE(s0, exp_avg);
    STORE_STATE(s1, exp_avg_sq);
    real second = exp_avg_sq;
    if (flags & OPT_A) {
        second = eta_fmax(LOAD_STATE(s2), exp_avg_sq);
        STORE_STATE(s2, second);
    }
    const real denom = eta_sqrt(second) / c6 + c7;
    STORE_PARAM(param + (-c5) * exp_avg / denom);
}
