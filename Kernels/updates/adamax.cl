// Adamax (torch.optim.Adamax). c0 -lr/(1-beta1^t), c1 1-beta1, c2 beta2, c3 eps, c4 weight_decay. s0 exp_avg,
// s1 exp_inf.
UPDATE(adamax_update, 0) {
    if (c4 != 0.0f) grad = eta_fma((real)c4, param, grad);
    const real exp_avg = eta_lerp(LOAD_STATE(s0), grad, c1);
    const real exp_inf = eta_fmax(LOAD_STATE(s1) * c2, eta_fabs(grad) + c3);
    STORE_STATE(s0, exp_avg);
    STORE_STATE(s1, exp_inf);
    STORE_PARAM(param + c0 * exp_avg / exp_inf);
}
