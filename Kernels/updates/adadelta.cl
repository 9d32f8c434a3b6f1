// Adadelta (torch.optim.Adadelta). c0 lr, c1 rho, c2 1-rho, c3 eps, c4 weight_decay. s0 square_avg, s1 acc_delta.
UPDATE(adadelta_update, 0) {
    if (c4 != 0.0f) grad = eta_fma((real)c4, param, grad);
    const real square_avg = eta_fma(c2 * grad, grad, LOAD_STATE(s0) * c1);
    STORE_STATE(s0, square_avg);
    const real acc = LOAD_STATE(s1);
    const real delta = eta_sqrt(acc + c3) / eta_sqrt(square_avg + c3) * grad;
    STORE_STATE(s1, eta_fma(c2 * delta, delta, acc * c1));
    STORE_PARAM(eta_fma((real)(-c0), delta, param));
}
