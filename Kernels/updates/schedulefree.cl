// Schedule-Free AdamW and SGD (facebookresearch/schedule_free, non-foreach paths). p holds y; s0 z.

// AdamW. c0 lr, c1 beta2, c2 1-beta2, c3 1-beta2^(k+1), c4 eps, c5 weight_decay, c6 ckp1,
// c7 lr*(beta1*(1-ckp1)-1). s1 exp_avg_sq.
UPDATE(schedulefree_adamw_update, 0) {
    const real exp_avg_sq = eta_fma(c2 * grad, grad, LOAD_STATE(s1) * c1);
    STORE_STATE(s1, exp_avg_sq);
    real normalized = grad / (eta_sqrt(exp_avg_sq / c3) + c4);
    if (c5 != 0.0f) normalized = eta_fma((real)c5, param, normalized);
    const real z = LOAD_STATE(s0);
    STORE_PARAM(eta_fma((real)c7, normalized, eta_lerp(param, z, c6)));
    STORE_STATE(s0, eta_fma((real)(-c0), normalized, z));
}

// SGD. c0 lr, c1 weight_decay, c2 ckp1, c3 lr*(momentum*(1-ckp1)-1).
UPDATE(schedulefree_sgd_update, 0) {
    if (c1 != 0.0f) grad = eta_fma((real)c1, param, grad);
    const real z = LOAD_STATE(s0);
    STORE_PARAM(eta_fma((real)c3, grad, eta_lerp(param, z, c2)));
    STORE_STATE(s0, eta_fma((real)(-c0), grad, z));
}
