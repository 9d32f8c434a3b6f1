// Lion (lion-pytorch). c0 lr, c1 beta1, c2 1-beta1, c3 beta2, c4 1-beta2, c5 1-lr*wd. s0 exp_avg.
UPDATE(lion_update, 0) {
    param = param * c5;
    const real m = LOAD_STATE(s0);
    const real update = eta_sign(eta_fma((real)c2, grad, m * c1));
    STORE_PARAM(eta_fma((real)(-c0), update, param));
    STORE_STATE(s0, eta_fma((real)c4, grad, m * c3));
}
