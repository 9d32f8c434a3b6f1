// RMSprop (torch.optim.RMSprop). c0 lr, c1 alpha, c2 1-alpha, c3 eps, c4 weight_decay, c5 momentum. Flags: OPT_A
// centered, OPT_B momentum. s0 square_avg, s1 momentum_buffer, s2 grad_avg.
UPDATE(rmsprop_update, OPT_A | OPT_B) {
    if (c4 != 0.0f) grad = eta_fma((real)c4, param, grad);
    const real square_avg = eta_fma(c2 * grad, grad, LOAD_STATE(s0) * c1);
    STORE_STATE(s0, square_avg);
    real avg;
    if (flags & OPT_A) {
        const real grad_avg = eta_lerp(LOAD_STATE(s2), grad, c2);
        STORE_STATE(s2, grad_avg);
        avg = eta_sqrt(eta_fma(-grad_avg, grad_avg, square_avg));
    } else {
        avg = eta_sqrt(square_avg);
    }
    avg = avg + c3;
    if (flags & OPT_B) {
        const real buf = LOAD_STATE(s1) * c5 + grad / avg;
        STORE_STATE(s1, buf);
        param = eta_fma((real)(-c0), buf, param);
    } else {
        param = param + (-c0) * grad / avg;
    }
    STORE_PARAM(param);
}
