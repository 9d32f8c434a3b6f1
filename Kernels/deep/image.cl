// deep/image.cl — convolution patches, pooling and flattening over image batches (bodies; see deep/signatures.cl).
//
// What: im2col gathers a batch into its patch matrix [N·OH·OW][C·k·k] (columns in PyTorch's weight order c, ky, kx),
//       so a convolution is one GEMM; col2im is its adjoint, computed per image element as a gather of the patch
//       entries that read it (no atomics, a fixed order). pool_forward/backward: max (winner's window offset kept as
//       a float; padding never wins; the first maximum in scan order wins a tie; NaN propagates, as in PyTorch) and
//       average (count_include_pad). transpose flattens channels-last images into PyTorch's [C·H·W] order.
// Index arithmetic: a quotient and its remainder are computed as q = a / b, r = a - q·b, never with `%` beside `/`:
//       LLVM would pair them and insert a `freeze` that Oclgrind 21.10's uninitialised-value check cannot run
//       (tools/oclgrind/freeze_repro.cl).
// Assumptions: channels-last [N, H, W, C] except im2col's source and col2im's destination, which may be
//       channels-first (the model's input).

// The window offsets (k·k of them) that reach input row y from output rows: oy·stride − padding + ky = y.
ETA_INLINE int eta_window_source(const long y, const long ky, const ulong stride, const ulong padding,
                                 const ulong out_size, ulong* out_index) {
    const long numerator = y + (long)padding - ky;
    if (numerator < 0) return 0;
    const long q = numerator / (long)stride;
    if (numerator - q * (long)stride != 0 || q >= (long)out_size) return 0;
    *out_index = (ulong)q;
    return 1;
}

// The flat index of image element (n, c, y, x) in either layout.
ETA_INLINE ulong eta_image_index(const ulong n, const ulong c, const ulong y, const ulong x, const ulong channels,
                                 const ulong height, const ulong width, const int channels_last) {
    return channels_last ? ((n * height + y) * width + x) * channels + c : ((n * channels + c) * height + y) * width + x;
}

ETA_INLINE void im2col_item(const ulong i, im2col_PARAMS) {
    const ulong window = kernel_size * kernel_size, columns = channels * window;
    const ulong row = i / columns, column = i - row * columns;
    const ulong c = column / window, offset = column - c * window;
    const ulong ky = offset / kernel_size, kx = offset - ky * kernel_size;
    const ulong t = row / out_width, ox = row - t * out_width;
    const ulong n = t / out_height, oy = t - n * out_height;
    const long y = (long)(oy * stride + ky) - (long)padding, x = (long)(ox * stride + kx) - (long)padding;
    float value = 0.0f;
    if (y >= 0 && y < (long)height && x >= 0 && x < (long)width)
        value = image[image_offset + eta_image_index(n, c, (ulong)y, (ulong)x, channels, height, width, channels_last)];
    patches[patches_offset + i] = value;
}

ETA_INLINE void col2im_item(const ulong i, col2im_PARAMS) {
    ulong n, c, y, x;
    if (channels_last) {
        const ulong pixel = i / channels;
        c = i - pixel * channels;
        const ulong t = pixel / width;
        x = pixel - t * width;
        n = t / height;
        y = t - n * height;
    } else {
        const ulong t = i / width;
        x = i - t * width;
        const ulong u = t / height;
        y = t - u * height;
        n = u / channels;
        c = u - n * channels;
    }
    const ulong window = kernel_size * kernel_size, columns = channels * window;
    float sum = 0.0f;
    for (ulong ky = 0; ky < kernel_size; ky++) {
        ulong oy;
        if (!eta_window_source((long)y, (long)ky, stride, padding, out_height, &oy)) continue;
        for (ulong kx = 0; kx < kernel_size; kx++) {
            ulong ox;
            if (!eta_window_source((long)x, (long)kx, stride, padding, out_width, &ox)) continue;
            const ulong row = (n * out_height + oy) * out_width + ox;
            sum += patches[patches_offset + row * columns + c * window + ky * kernel_size + kx];
        }
    }
    const ulong at = image_offset + i;
    image[at] = accumulate ? image[at] + sum : sum;
}

ETA_INLINE void pool_forward_item(const ulong i, pool_forward_PARAMS) {
    const ulong pixel = i / channels, c = i - pixel * channels;
    const ulong t = pixel / out_width, ox = pixel - t * out_width;
    const ulong n = t / out_height, oy = t - n * out_height;
    float best = 0.0f, sum = 0.0f;
    long winner = -1;
    for (ulong ky = 0; ky < kernel_size; ky++) {
        const long y = (long)(oy * stride + ky) - (long)padding;
        if (y < 0 || y >= (long)height) continue;
        for (ulong kx = 0; kx < kernel_size; kx++) {
            const long x = (long)(ox * stride + kx) - (long)padding;
            if (x < 0 || x >= (long)width) continue;
            const float v = input[input_offset + ((n * height + (ulong)y) * width + (ulong)x) * channels + c];
            sum += v;
            if (winner < 0 || v > best || (v != v && best == best)) {
                best = v;
                winner = (long)(ky * kernel_size + kx);
            }
        }
    }
    if (is_max) {
        output[output_offset + i] = best;
        indices[indices_offset + i] = (float)winner;
    } else {
        output[output_offset + i] = sum / (float)(kernel_size * kernel_size);
    }
}

ETA_INLINE void pool_backward_item(const ulong i, pool_backward_PARAMS) {
    const ulong pixel = i / channels, c = i - pixel * channels;
    const ulong t = pixel / width, x = pixel - t * width;
    const ulong n = t / height, y = t - n * height;
    const float divisor = (float)(kernel_size * kernel_size);
    float sum = 0.0f;
    for (ulong ky = 0; ky < kernel_size; ky++) {
        ulong oy;
        if (!eta_window_source((long)y, (long)ky, stride, padding, out_height, &oy)) continue;
        for (ulong kx = 0; kx < kernel_size; kx++) {
            ulong ox;
            if (!eta_window_source((long)x, (long)kx, stride, padding, out_width, &ox)) continue;
            const ulong o = ((n * out_height + oy) * out_width + ox) * channels + c;
            if (!is_max) sum += grad_output[grad_output_offset + o] / divisor;
            else if (indices[indices_offset + o] == (float)(ky * kernel_size + kx))
                sum += grad_output[grad_output_offset + o];
        }
    }
    const ulong at = grad_input_offset + i;
    grad_input[at] = accumulate ? grad_input[at] + sum : sum;
}

ETA_INLINE void transpose_item(const ulong i, transpose_PARAMS) {
    const ulong t = i / rows, r = i - t * rows;
    const ulong m = t / cols, c = t - m * cols;
    const float value = source[source_offset + (m * rows + r) * cols + c];
    const ulong at = destination_offset + i;
    destination[at] = accumulate ? destination[at] + value : value;
}
