// deep/signatures.cl — the parameters of the deep-layer kernels, written once for both backends.
//
// What: ETA_DEEP_KERNELS(K) lists every kernel; NAME_PARAMS is its parameter list and NAME_ARGS the same names as
//       arguments. The bodies (deep/*.cl) define `NAME_item(i, NAME_PARAMS)`, the work of index i < count (the first
//       parameter of every kernel). Two preambles turn each into a kernel:
//         deep/opencl.cl: `__kernel void NAME(NAME_PARAMS)`, one work-item per index;
//         Sources/CEtaCPU/eta_deep.c: `void eta_NAME(begin, end, NAME_PARAMS)`, a loop over [begin, end) that the
//           Swift CPUBackend runs on all cores in chunks (prototypes in eta_cpu.h, generated from this file).
// Vocabulary: ETA_GLOBAL (__global or nothing), ulong (64-bit unsigned), long, int. Offsets are in floats; every
//       buffer is float32 (token ids and max-pool winners are stored as floats, exact below 2^24).
// Assumptions: no work-item writes what another reads in the same launch; sums run in a fixed order, so both backends
//       are deterministic run to run. Layouts: see the Swift commands (Sources/EtaBackend/ImageCommands.swift,
//       SequenceCommands.swift).

#define ETA_DEEP_KERNELS(K) \
    K(im2col) K(col2im) K(pool_forward) K(pool_backward) K(transpose) \
    K(batch_norm_statistics) K(batch_norm_normalize) K(batch_norm_backward_sums) K(batch_norm_backward_input) \
    K(layer_norm_forward) K(layer_norm_backward_input) K(layer_norm_backward_parameters) \
    K(embedding_forward) K(embedding_backward_tokens) K(embedding_backward_positions) \
    K(heads_permute) K(causal_softmax_forward) K(causal_softmax_backward) \
    K(dropout) K(add) \
    K(muon_momentum) K(scale_by_norm) K(muon_apply) \
    K(adafactor_rows) K(adafactor_cols) K(adafactor_direction) K(adafactor_apply)

// A square window over [N, H, W, C] (or [N, C, H, W] for im2col's source): input shape, window, output shape.
#define ETA_WINDOW_PARAMS \
    const ulong channels, const ulong height, const ulong width, const ulong kernel_size, const ulong stride, \
    const ulong padding, const ulong out_height, const ulong out_width
#define ETA_WINDOW_ARGS channels, height, width, kernel_size, stride, padding, out_height, out_width

// count = images·OH, one output row (OW patch rows) each.
#define im2col_PARAMS \
    const ulong count, ETA_GLOBAL const float* image, const ulong image_offset, ETA_GLOBAL float* patches, \
    const ulong patches_offset, ETA_WINDOW_PARAMS, const int channels_last
#define im2col_ARGS count, image, image_offset, patches, patches_offset, ETA_WINDOW_ARGS, channels_last

// count = images·H, one image row each.
#define col2im_PARAMS \
    const ulong count, ETA_GLOBAL float* image, const ulong image_offset, ETA_GLOBAL const float* patches, \
    const ulong patches_offset, ETA_WINDOW_PARAMS, const int channels_last, const int accumulate
#define col2im_ARGS count, image, image_offset, patches, patches_offset, ETA_WINDOW_ARGS, channels_last, accumulate

// count = images·OH (one output row each). is_max: 1 max (winners into `indices`), 0 average.
#define pool_forward_PARAMS \
    const ulong count, ETA_GLOBAL const float* input, const ulong input_offset, ETA_GLOBAL float* output, \
    const ulong output_offset, ETA_GLOBAL float* indices, const ulong indices_offset, ETA_WINDOW_PARAMS, \
    const int is_max
#define pool_forward_ARGS \
    count, input, input_offset, output, output_offset, indices, indices_offset, ETA_WINDOW_ARGS, is_max

// count = images·H (one input row each).
#define pool_backward_PARAMS \
    const ulong count, ETA_GLOBAL const float* grad_output, const ulong grad_output_offset, \
    ETA_GLOBAL float* grad_input, const ulong grad_input_offset, ETA_GLOBAL const float* indices, \
    const ulong indices_offset, ETA_WINDOW_PARAMS, const int is_max, const int accumulate
#define pool_backward_ARGS \
    count, grad_output, grad_output_offset, grad_input, grad_input_offset, indices, indices_offset, ETA_WINDOW_ARGS, \
    is_max, accumulate

// count = matrices·rows (one source row each): destination [m][c][r] = source [m][r][c].
#define transpose_PARAMS \
    const ulong count, ETA_GLOBAL const float* source, const ulong source_offset, ETA_GLOBAL float* destination, \
    const ulong destination_offset, const ulong rows, const ulong cols, const int accumulate
#define transpose_ARGS count, source, source_offset, destination, destination_offset, rows, cols, accumulate

// Batch norm over [replicas][rows][channels]. saved: per replica [mean | inverse std | Σdy | Σdy·x̂], 4·channels.
// Parameters and their gradients: replica r at offset + r·parameter_stride; running statistics at offset +
// r·running_stride.
#define ETA_BN_PARAMS \
    const ulong rows, const ulong channels, ETA_GLOBAL float* parameters, const ulong weight_offset, \
    const ulong bias_offset, const ulong parameter_stride, ETA_GLOBAL float* saved, const ulong saved_offset, \
    const float epsilon
#define ETA_BN_ARGS rows, channels, parameters, weight_offset, bias_offset, parameter_stride, saved, saved_offset, epsilon

// count = replicas·channels: batch statistics into `saved`, then the running statistics updated.
#define batch_norm_statistics_PARAMS \
    const ulong count, ETA_GLOBAL const float* input, const ulong input_offset, ETA_BN_PARAMS, \
    ETA_GLOBAL float* running, const ulong mean_offset, const ulong variance_offset, const ulong running_stride, \
    const float momentum
#define batch_norm_statistics_ARGS \
    count, input, input_offset, ETA_BN_ARGS, running, mean_offset, variance_offset, running_stride, momentum

// count = replicas·rows·channels. use_running: 1 normalises with the running statistics (evaluation).
#define batch_norm_normalize_PARAMS \
    const ulong count, ETA_GLOBAL const float* input, const ulong input_offset, ETA_GLOBAL float* output, \
    const ulong output_offset, ETA_BN_PARAMS, ETA_GLOBAL const float* running, const ulong mean_offset, \
    const ulong variance_offset, const ulong running_stride, const int use_running
#define batch_norm_normalize_ARGS \
    count, input, input_offset, output, output_offset, ETA_BN_ARGS, running, mean_offset, variance_offset, \
    running_stride, use_running

// count = replicas·channels: Σdy and Σdy·x̂ into `saved`, and dβ, dγ into `gradients`.
#define batch_norm_backward_sums_PARAMS \
    const ulong count, ETA_GLOBAL const float* input, const ulong input_offset, ETA_GLOBAL const float* grad_output, \
    const ulong grad_output_offset, ETA_BN_PARAMS, ETA_GLOBAL float* gradients, const int accumulate
#define batch_norm_backward_sums_ARGS \
    count, input, input_offset, grad_output, grad_output_offset, ETA_BN_ARGS, gradients, accumulate

// count = replicas·rows·channels.
#define batch_norm_backward_input_PARAMS \
    const ulong count, ETA_GLOBAL const float* input, const ulong input_offset, ETA_GLOBAL const float* grad_output, \
    const ulong grad_output_offset, ETA_GLOBAL float* grad_input, const ulong grad_input_offset, ETA_BN_PARAMS, \
    const int accumulate
#define batch_norm_backward_input_ARGS \
    count, input, input_offset, grad_output, grad_output_offset, grad_input, grad_input_offset, ETA_BN_ARGS, \
    accumulate

// Layer norm over [rows][cols]; saved: [rows means | rows inverse deviations]; weight and bias in `parameters`.
#define ETA_LN_PARAMS \
    const ulong rows, const ulong cols, ETA_GLOBAL const float* parameters, const ulong weight_offset, \
    const ulong bias_offset, ETA_GLOBAL float* saved, const ulong saved_offset, const float epsilon
#define ETA_LN_ARGS rows, cols, parameters, weight_offset, bias_offset, saved, saved_offset, epsilon

// count = rows.
#define layer_norm_forward_PARAMS \
    const ulong count, ETA_GLOBAL const float* input, const ulong input_offset, ETA_GLOBAL float* output, \
    const ulong output_offset, ETA_LN_PARAMS
#define layer_norm_forward_ARGS count, input, input_offset, output, output_offset, ETA_LN_ARGS

// count = rows.
#define layer_norm_backward_input_PARAMS \
    const ulong count, ETA_GLOBAL const float* input, const ulong input_offset, ETA_GLOBAL const float* grad_output, \
    const ulong grad_output_offset, ETA_GLOBAL float* grad_input, const ulong grad_input_offset, ETA_LN_PARAMS, \
    const int accumulate
#define layer_norm_backward_input_ARGS \
    count, input, input_offset, grad_output, grad_output_offset, grad_input, grad_input_offset, ETA_LN_ARGS, \
    accumulate

// count = cols: dγ and dβ into `gradients` (at the weight and bias offsets).
#define layer_norm_backward_parameters_PARAMS \
    const ulong count, ETA_GLOBAL const float* input, const ulong input_offset, ETA_GLOBAL const float* grad_output, \
    const ulong grad_output_offset, ETA_LN_PARAMS, ETA_GLOBAL float* gradients, const int accumulate
#define layer_norm_backward_parameters_ARGS \
    count, input, input_offset, grad_output, grad_output_offset, ETA_LN_ARGS, gradients, accumulate

// Embeddings: `tables` holds the token table at token_offset and the position table at position_offset.
#define ETA_EMBEDDING_PARAMS \
    ETA_GLOBAL const float* ids, const ulong ids_offset, const ulong rows, const ulong sequence_length, \
    const ulong embed_width, const ulong vocabulary, const ulong token_offset, const ulong position_offset
#define ETA_EMBEDDING_ARGS \
    ids, ids_offset, rows, sequence_length, embed_width, vocabulary, token_offset, position_offset

// count = rows·width.
#define embedding_forward_PARAMS \
    const ulong count, ETA_EMBEDDING_PARAMS, ETA_GLOBAL const float* tables, ETA_GLOBAL float* output, \
    const ulong output_offset
#define embedding_forward_ARGS count, ETA_EMBEDDING_ARGS, tables, output, output_offset

// count = width (one column of the token table's gradient each).
#define embedding_backward_tokens_PARAMS \
    const ulong count, ETA_EMBEDDING_PARAMS, ETA_GLOBAL float* gradients, ETA_GLOBAL const float* grad_output, \
    const ulong grad_output_offset, const int accumulate
#define embedding_backward_tokens_ARGS \
    count, ETA_EMBEDDING_ARGS, gradients, grad_output, grad_output_offset, accumulate

// count = sequence_length·width.
#define embedding_backward_positions_PARAMS embedding_backward_tokens_PARAMS
#define embedding_backward_positions_ARGS embedding_backward_tokens_ARGS

// count = B·T token rows: fused [B·T][parts·E] <-> split [parts][B·H][T][D]. to_heads 1 splits, 0 merges.
#define heads_permute_PARAMS \
    const ulong count, ETA_GLOBAL float* fused, const ulong fused_offset, ETA_GLOBAL float* split, \
    const ulong split_offset, const ulong sequence_length, const ulong heads, const ulong head_width, \
    const ulong parts, const int to_heads, const int accumulate
#define heads_permute_ARGS \
    count, fused, fused_offset, split, split_offset, sequence_length, heads, head_width, parts, to_heads, accumulate

// count = score rows (B·H·T) of [rows][T] matrices.
#define causal_softmax_forward_PARAMS \
    const ulong count, ETA_GLOBAL float* scores, const ulong scores_offset, const ulong sequence_length, \
    const float scale
#define causal_softmax_forward_ARGS count, scores, scores_offset, sequence_length, scale
#define causal_softmax_backward_PARAMS \
    const ulong count, ETA_GLOBAL const float* scores, const ulong scores_offset, ETA_GLOBAL float* gradients, \
    const ulong gradients_offset, const ulong sequence_length, const float scale
#define causal_softmax_backward_ARGS count, scores, scores_offset, gradients, gradients_offset, sequence_length, scale

// count elements; keep when the 24-bit draw of (seed, stream, step, i) < threshold; kept ones scaled.
#define dropout_PARAMS \
    const ulong count, ETA_GLOBAL const float* source, const ulong source_offset, ETA_GLOBAL float* destination, \
    const ulong destination_offset, const uint threshold, const float scale, const ulong seed, const ulong stream, \
    const ulong step, const int accumulate
#define dropout_ARGS \
    count, source, source_offset, destination, destination_offset, threshold, scale, seed, stream, step, accumulate

// count elements: destination (+)= a (+ b when has_b).
#define add_PARAMS \
    const ulong count, ETA_GLOBAL const float* a, const ulong a_offset, ETA_GLOBAL const float* b, \
    const ulong b_offset, const int has_b, ETA_GLOBAL float* destination, const ulong destination_offset, \
    const int accumulate
#define add_ARGS count, a, a_offset, b, b_offset, has_b, destination, destination_offset, accumulate

// Matrix optimizers (deep/matrix.cl). count elements: the momentum and its (Nesterov) update into `out`.
#define muon_momentum_PARAMS \
    const ulong count, ETA_GLOBAL const float* g, const ulong g_offset, ETA_GLOBAL float* buf, const ulong buf_offset, \
    ETA_GLOBAL float* out, const ulong out_offset, const float one_minus_momentum, const float momentum, \
    const int nesterov
#define muon_momentum_ARGS \
    count, g, g_offset, buf, buf_offset, out, out_offset, one_minus_momentum, momentum, nesterov

// count elements: x /= max(sqrt(stats[stats_index]), eps).
#define scale_by_norm_PARAMS \
    const ulong count, ETA_GLOBAL float* x, const ulong x_offset, ETA_GLOBAL const float* stats, \
    const ulong stats_index, const float eps
#define scale_by_norm_ARGS count, x, x_offset, stats, stats_index, eps

// count elements: p = fma(neg_lr, x, p·decay).
#define muon_apply_PARAMS \
    const ulong count, ETA_GLOBAL float* p, const ulong p_offset, ETA_GLOBAL const float* x, const ulong x_offset, \
    const float decay, const float neg_lr
#define muon_apply_ARGS count, p, p_offset, x, x_offset, decay, neg_lr

// count = matrices·rows (one row each).
#define adafactor_rows_PARAMS \
    const ulong count, ETA_GLOBAL const float* g, const ulong g_offset, ETA_GLOBAL float* row_var, \
    const ulong row_offset, const ulong cols, const float w
#define adafactor_rows_ARGS count, g, g_offset, row_var, row_offset, cols, w

// count = matrices·cols (one column each).
#define adafactor_cols_PARAMS \
    const ulong count, ETA_GLOBAL const float* g, const ulong g_offset, ETA_GLOBAL float* col_var, \
    const ulong col_offset, const ulong rows, const ulong cols, const float w
#define adafactor_cols_ARGS count, g, g_offset, col_var, col_offset, rows, cols, w

// count elements. Unfactored: row_var holds `variance`, lerped here with weight w.
#define adafactor_direction_PARAMS \
    const ulong count, ETA_GLOBAL const float* g, const ulong g_offset, ETA_GLOBAL float* out, const ulong out_offset, \
    ETA_GLOBAL float* row_var, const ulong row_offset, ETA_GLOBAL const float* col_var, const ulong col_offset, \
    ETA_GLOBAL const float* row_means, const ulong means_offset, const ulong rows, const ulong cols, \
    const float eps1, const float eps1_squared, const float w, const int factored, const int maximize
#define adafactor_direction_ARGS \
    count, g, g_offset, out, out_offset, row_var, row_offset, col_var, col_offset, row_means, means_offset, rows, \
    cols, eps1, eps1_squared, w, factored, maximize

// count elements: p = fma(−α/denom, U, p·decay), α and denom from stats[stats_index] and stats[stats_index + 1].
#define adafactor_apply_PARAMS \
    const ulong count, ETA_GLOBAL float* p, const ulong p_offset, ETA_GLOBAL const float* u, const ulong u_offset, \
    ETA_GLOBAL const float* stats, const ulong stats_index, const float decay, const float rho, const float eps2, \
    const float d, const float numel
#define adafactor_apply_ARGS count, p, p_offset, u, u_offset, stats, stats_index, decay, rho, eps2, d, numel
