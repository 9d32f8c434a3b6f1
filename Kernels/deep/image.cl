// deep/image.cl — convolution patches, pooling and flattening over image batches (bodies; see deep/signatures.cl).
//
// What: im2col gathers a batch into its patch matrix [N·OH·OW][C·k·k] (columns in PyTorch's weight order c, ky, kx),
//       so a convolution is one GEMM; col2im is its adjoint, computed per image pixel as a gather of the patch
//       entries that read it (no atomics, a fixed order). Work-items are image rows, each looping over its pixels
//       and channels: the index arithmetic (divisions) is per row, and windows are walked from the output side. pool_forward/backward: max (winner's window offset kept as
//       a float; padding never wins; the first maximum in scan order wins a tie; NaN propagates, as in PyTorch) and
//       average (count_include_pad). transpose flattens channels-last images into PyTorch's [C·H·W] order.
// Index arithmetic: a quotient and its remainder are computed as q = a / b, r = a - q·b, never with `%` beside `/`:
//       LLVM would pair them and insert a `freeze` that Oclgrind 21.10's uninitialised-value check cannot run
//       (tools/oclgrind/freeze_repro.cl).
// Assumptions: channels-last [N, H, W, C] except im2col's source and col2im's destination, which may be
//       channels-first (the model's input).

// The output rows whose windows cover input row y (oy·stride − padding ≤ y ≤ oy·stride − padding + k − 1), as
// [*first, *last] (empty when first > last): two divisions per image row.
ETA_INLINE void eta_window_range(const long y, const ulong kernel_size, const ulong stride, const ulong padding,
                                 const ulong out_size, long* first, long* last) {
    const long top = y + (long)padding, low = top - (long)kernel_size + 1;
    *first = low <= 0 ? 0 : (low + (long)stride - 1) / (long)stride;
    const long high = top / (long)stride;
    *last = high < (long)out_size - 1 ? high : (long)out_size - 1;
}

// The flat index of image element (n, c, y, x) in either layout.
ETA_INLINE ulong eta_image_index(const ulong n, const ulong c, const ulong y, const ulong x, const ulong channels,
                                 const ulong height, const ulong width, const int channels_last) {
    return channels_last ? ((n * height + y) * width + x) * channels + c : ((n * channels + c) * height + y) * width + x;
}

// One row of patches (output row oy of image n) per index: OW patch rows of C·k·k entries each, written in order.
// A window inside the image (no padding) is copied without bounds checks.
ETA_INLINE void im2col_item(const ulong i, im2col_PARAMS) {
    const ulong n = i / out_height, oy = i - n * out_height;
    const ulong step = channels_last ? 1 : height * width, pixel_step = channels_last ? channels : 1;
    const long y0 = (long)(oy * stride) - (long)padding;
    ETA_GLOBAL float* restrict row = patches + patches_offset + i * out_width * channels * kernel_size * kernel_size;
    for (ulong ox = 0; ox < out_width; ox++) {
        const long x0 = (long)(ox * stride) - (long)padding;
        const int inside = y0 >= 0 && y0 + (long)kernel_size <= (long)height && x0 >= 0
            && x0 + (long)kernel_size <= (long)width;
        if (inside) {
            ETA_GLOBAL const float* restrict corner = image + image_offset
                + eta_image_index(n, 0, (ulong)y0, (ulong)x0, channels, height, width, channels_last);
            for (ulong c = 0; c < channels; c++)
                for (ulong ky = 0; ky < kernel_size; ky++)
                    for (ulong kx = 0; kx < kernel_size; kx++)
                        *row++ = corner[c * step + (ky * width + kx) * pixel_step];
            continue;
        }
        for (ulong c = 0; c < channels; c++) {
            for (ulong ky = 0; ky < kernel_size; ky++) {
                const long y = y0 + (long)ky;
                for (ulong kx = 0; kx < kernel_size; kx++) {
                    const long x = x0 + (long)kx;
                    *row++ = y < 0 || y >= (long)height || x < 0 || x >= (long)width
                        ? 0.0f
                        : image[image_offset
                                + eta_image_index(n, c, (ulong)y, (ulong)x, channels, height, width, channels_last)];
                }
            }
        }
    }
}

// One image row (row y of image n, all pixels and channels) per index: the patch entries that read each element,
// summed in (oy, ox, kx) order. The windows are walked from the output side, so no element needs a division.
ETA_INLINE void col2im_item(const ulong i, col2im_PARAMS) {
    const ulong n = i / height, y = i - n * height;
    const ulong window = kernel_size * kernel_size, columns = channels * window;
    const ulong step = channels_last ? 1 : height * width;
    if (!accumulate)
        for (ulong x = 0; x < width; x++) {
            ETA_GLOBAL float* restrict pixel =
                image + image_offset + eta_image_index(n, 0, y, x, channels, height, width, channels_last);
            for (ulong c = 0; c < channels; c++) pixel[c * step] = 0.0f;
        }
    long first_y, last_y;
    eta_window_range((long)y, kernel_size, stride, padding, out_height, &first_y, &last_y);
    for (long oy = first_y; oy <= last_y; oy++) {
        const ulong ky = (ulong)((long)y + (long)padding - oy * (long)stride);
        for (ulong ox = 0; ox < out_width; ox++) {
            ETA_GLOBAL const float* restrict row =
                patches + patches_offset + ((n * out_height + (ulong)oy) * out_width + ox) * columns + ky * kernel_size;
            for (ulong kx = 0; kx < kernel_size; kx++) {
                const long x = (long)(ox * stride + kx) - (long)padding;
                if (x < 0 || x >= (long)width) continue;
                ETA_GLOBAL float* restrict pixel =
                    image + image_offset + eta_image_index(n, 0, y, (ulong)x, channels, height, width, channels_last);
                for (ulong c = 0; c < channels; c++) pixel[c * step] += row[c * window + kx];
            }
        }
    }
}

// One output row (row oy of image n) per index: per output pixel the window outside, the channels inside
// (contiguous, so the loop vectorises), each channel's running maximum and winner kept in the output.
ETA_INLINE void pool_forward_item(const ulong i, pool_forward_PARAMS) {
    const ulong n = i / out_height, oy = i - n * out_height;
    for (ulong ox = 0; ox < out_width; ox++) {
        const ulong o = (i * out_width + ox) * channels;
        ETA_GLOBAL float* restrict out = output + output_offset + o;
        ETA_GLOBAL float* restrict winners = indices + indices_offset + o;
        int started = 0;
        for (ulong ky = 0; ky < kernel_size; ky++) {
            const long y = (long)(oy * stride + ky) - (long)padding;
            if (y < 0 || y >= (long)height) continue;
            for (ulong kx = 0; kx < kernel_size; kx++) {
                const long x = (long)(ox * stride + kx) - (long)padding;
                if (x < 0 || x >= (long)width) continue;
                ETA_GLOBAL const float* restrict in =
                    input + input_offset + ((n * height + (ulong)y) * width + (ulong)x) * channels;
                const float offset = (float)(ky * kernel_size + kx);
                if (!started) {
                    for (ulong c = 0; c < channels; c++) out[c] = in[c];
                    if (is_max)
                        for (ulong c = 0; c < channels; c++) winners[c] = offset;
                    started = 1;
                } else if (is_max) {
                    for (ulong c = 0; c < channels; c++) {
                        const float v = in[c], best = out[c];
                        const int take = v > best || (v != v && best == best);
                        out[c] = take ? v : best;
                        winners[c] = take ? offset : winners[c];
                    }
                } else {
                    for (ulong c = 0; c < channels; c++) out[c] += in[c];
                }
            }
        }
        if (!is_max) {
            const float divisor = (float)(kernel_size * kernel_size);
            for (ulong c = 0; c < channels; c++) out[c] /= divisor;
        }
    }
}

// One input row (row y of image n) per index: each element gathers the gradients of the windows that took it (max)
// or covered it (average), walking the windows from the output side in (oy, ox, kx) order.
ETA_INLINE void pool_backward_item(const ulong i, pool_backward_PARAMS) {
    const ulong n = i / height, y = i - n * height;
    const float divisor = (float)(kernel_size * kernel_size);
    ETA_GLOBAL float* restrict row = grad_input + grad_input_offset + i * width * channels;
    if (!accumulate)
        for (ulong e = 0; e < width * channels; e++) row[e] = 0.0f;
    long first_y, last_y;
    eta_window_range((long)y, kernel_size, stride, padding, out_height, &first_y, &last_y);
    for (long oy = first_y; oy <= last_y; oy++) {
        const ulong ky = (ulong)((long)y + (long)padding - oy * (long)stride);
        for (ulong ox = 0; ox < out_width; ox++) {
            const ulong o = ((n * out_height + (ulong)oy) * out_width + ox) * channels;
            ETA_GLOBAL const float* restrict gradient = grad_output + grad_output_offset + o;
            ETA_GLOBAL const float* restrict winners = indices + indices_offset + o;
            for (ulong kx = 0; kx < kernel_size; kx++) {
                const long x = (long)(ox * stride + kx) - (long)padding;
                if (x < 0 || x >= (long)width) continue;
                ETA_GLOBAL float* restrict target = row + (ulong)x * channels;
                const float offset = (float)(ky * kernel_size + kx);
                if (is_max)
                    for (ulong c = 0; c < channels; c++) target[c] += winners[c] == offset ? gradient[c] : 0.0f;
                else
                    for (ulong c = 0; c < channels; c++) target[c] += gradient[c] / divisor;
            }
        }
    }
}

// One source row (matrix m, row r) per index: its cols values to column r of the destination matrix.
ETA_INLINE void transpose_item(const ulong i, transpose_PARAMS) {
    const ulong m = i / rows, r = i - m * rows;
    ETA_GLOBAL const float* restrict in = source + source_offset + i * cols;
    ETA_GLOBAL float* restrict out = destination + destination_offset + m * cols * rows + r;
    if (accumulate)
        for (ulong c = 0; c < cols; c++) out[c * rows] += in[c];
    else
        for (ulong c = 0; c < cols; c++) out[c * rows] = in[c];
}
