// SGD (torch.optim.SGD). c0 lr, c1 weight_decay, c2 momentum, c3 1-dampening. Flags: OPT_A momentum, OPT_B nesterov,
// OPT_C first step (the buffer starts as the gradient). s0 momentum_buffer.
UPDATE(sgd_update, OPT_A | OPT_B | OPT_C) {
    if (c1 != 0.0f) grad = eta_fma((real)c1, param, grad);
    if (flags & OPT_A) {
        real b = grad;
        if (!(flags & OPT_C)) b = eta_fma((real)c3, grad, LOAD_STATE(s0) * c2);
        STORE_STATE(s0, b);
        grad = (flags & OPT_B) ? eta_fma((real)c2, b, grad) : b;
    }
    STORE_PARAM(eta_fma((real)(-c0), grad, param));
}
