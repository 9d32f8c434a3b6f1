// ASGD (torch.optim.ASGD). c0 1-lambd*eta, c1 -eta, c2 weight_decay, c3 mu (eta and mu: the host's float32 scalars
// of this step). Flags: OPT_A mu == 1 (ax copies the parameters). s0 ax.
UPDATE(asgd_update, OPT_A) {
    if (c2 != 0.0f) grad = eta_fma((real)c2, param, grad);
    const real updated = eta_fma((real)c1, grad, param * c0);
    STORE_PARAM(updated);
    if (flags & OPT_A) {
        STORE_STATE(s0, updated);
    } else {
        const real ax = LOAD_STATE(s0);
        STORE_STATE(s0, ax + (updated - ax) * c3);  // ax.add_(param.sub(ax).mul_(mu)): three roundings
    }
}

// Rprop (torch.optim.Rprop). c0 etaminus, c1 etaplus, c2 step_size_min, c3 step_size_max, c4 lr. Flags: OPT_A first
// step (the step sizes start at lr). s0 prev, s1 step_size. An element whose gradient changed sign shrinks its step
// and skips this step (its gradient counts as 0, and 0 is stored as prev).
UPDATE(rprop_update, OPT_A) {
    const real s = eta_sign(grad * LOAD_STATE(s0));
    const real factor = eta_where(s > (real)0.0f, (real)c1, eta_where(s < (real)0.0f, (real)c0, (real)1.0f));
    const real size = (flags & OPT_A) ? (real)c4 : LOAD_STATE(s1);
    const real step = eta_fmin(eta_fmax(size * factor, (real)c2), (real)c3);
    STORE_STATE(s1, step);
    const real g = eta_where(s < (real)0.0f, (real)0.0f, grad);
    STORE_PARAM(param - eta_sign(g) * step);
    STORE_STATE(s0, g);
}
