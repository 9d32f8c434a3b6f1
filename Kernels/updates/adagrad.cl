// Adagrad (torch.optim.Adagrad). c0 clr (lr / (1 + (t-1) lr_decay)), c1 eps, c2 weight_decay. s0 state_sum.
UPDATE(adagrad_update, 0) {
    if (c2 != 0.0f) grad = eta_fma((real)c2, param, grad);
    const real sum = eta_fma(grad, grad, LOAD_STATE(s0));
    STORE_STATE(s0, sum);
    STORE_PARAM(param + (-c0) * grad / (eta_sqrt(sum) + c1));
}
