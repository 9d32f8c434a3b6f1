// deep/sequence.cl — embeddings, causal attention, dropout and sums (bodies; see deep/signatures.cl).
//
// What: embedding_forward adds a token row and a position row per token; its backward sums the output gradient into
//       the tables, one column (tokens) or one (position, column) pair (positions) per work-item, in row order, so no
//       two work-items touch one element. Ids outside [0, vocabulary) read zeros and update nothing.
//       Attention is batched GEMMs around three kernels: heads_permute (the fused [q | k | v] rows to per-head
//       matrices and back), causal_softmax_forward (scale, causal mask, stable softmax per score row, in place) and
//       causal_softmax_backward (the softmax's Jacobian per row).
//       dropout: the counter-based mask of Reference.dropoutDraw (SplitMix64's finaliser of seed, stream, step and
//       index), the same bits on every backend. add: destination (+)= a (+ b).
// Assumptions: sums run in index order (no reassociation), so both backends agree bit for bit where the
//       transcendental functions do.

ETA_INLINE void embedding_forward_item(const ulong i, embedding_forward_PARAMS) {
    const ulong row = i / embed_width, c = i - row * embed_width;
    const ulong sequence = row / sequence_length, position = row - sequence * sequence_length;
    const float id = ids[ids_offset + row];
    float value = tables[position_offset + position * embed_width + c];
    if (id >= 0.0f && id < (float)vocabulary) value += tables[token_offset + (ulong)id * embed_width + c];
    output[output_offset + i] = value;
}

ETA_INLINE void embedding_backward_tokens_item(const ulong i, embedding_backward_tokens_PARAMS) {
    if (!accumulate)
        for (ulong v = 0; v < vocabulary; v++) gradients[token_offset + v * embed_width + i] = 0.0f;
    for (ulong row = 0; row < rows; row++) {
        const float id = ids[ids_offset + row];
        if (!(id >= 0.0f && id < (float)vocabulary)) continue;
        gradients[token_offset + (ulong)id * embed_width + i] += grad_output[grad_output_offset + row * embed_width + i];
    }
}

ETA_INLINE void embedding_backward_positions_item(const ulong i, embedding_backward_positions_PARAMS) {
    const ulong position = i / embed_width, c = i - position * embed_width;
    float sum = 0.0f;
    for (ulong row = position; row < rows; row += sequence_length)
        sum += grad_output[grad_output_offset + row * embed_width + c];
    const ulong at = position_offset + i;
    gradients[at] = accumulate ? gradients[at] + sum : sum;
}

// One token row (b, t) per index: between the fused layout [B·T][parts·E] (part p, head h in columns p·E + h·D) and
// the per-head layout [parts][B·H][T][D] that batched GEMMs take. `to_heads` 1 splits, 0 merges (with accumulate).
ETA_INLINE void heads_permute_item(const ulong i, heads_permute_PARAMS) {
    const ulong b = i / sequence_length, t = i - b * sequence_length, embed = heads * head_width;
    const ulong block = count * embed;  // one part's floats in the per-head layout (B·T·E)
    for (ulong p = 0; p < parts; p++) {
        for (ulong h = 0; h < heads; h++) {
            ETA_GLOBAL float* fused_row = fused + fused_offset + i * parts * embed + p * embed + h * head_width;
            ETA_GLOBAL float* head_row =
                split + split_offset + p * block + ((b * heads + h) * sequence_length + t) * head_width;
            if (to_heads)
                for (ulong d = 0; d < head_width; d++) head_row[d] = fused_row[d];
            else if (accumulate)
                for (ulong d = 0; d < head_width; d++) fused_row[d] += head_row[d];
            else
                for (ulong d = 0; d < head_width; d++) fused_row[d] = head_row[d];
        }
    }
}

// One score row (sequence-head, query i) per index of a [rows][T] matrix: P = softmax(scale · s) over keys j ≤ i
// (the causal mask: later keys get probability 0), in place.
ETA_INLINE void causal_softmax_forward_item(const ulong i, causal_softmax_forward_PARAMS) {
    const ulong q = i - (i / sequence_length) * sequence_length;
    ETA_GLOBAL float* restrict row = scores + scores_offset + i * sequence_length;
    float maximum = row[0] * scale;
    for (ulong j = 1; j <= q; j++) maximum = eta_fmax(maximum, row[j] * scale);
    // The exponentials in one pass (it vectorises), their sum in index order in another.
    for (ulong j = 0; j <= q; j++) row[j] = eta_exp(row[j] * scale - maximum);
    float sum = 0.0f;
    for (ulong j = 0; j <= q; j++) sum += row[j];
    const float inverse = 1.0f / sum;
    for (ulong j = 0; j <= q; j++) row[j] *= inverse;
    for (ulong j = q + 1; j < sequence_length; j++) row[j] = 0.0f;
}

// One row per index: dS = scale · P ⊙ (dP − Σ_j P·dP) (the softmax's Jacobian), in place in dP.
ETA_INLINE void causal_softmax_backward_item(const ulong i, causal_softmax_backward_PARAMS) {
    ETA_GLOBAL const float* restrict p = scores + scores_offset + i * sequence_length;
    ETA_GLOBAL float* restrict dp = gradients + gradients_offset + i * sequence_length;
    float dot = 0.0f;
    for (ulong j = 0; j < sequence_length; j++) dot += p[j] * dp[j];
    for (ulong j = 0; j < sequence_length; j++) dp[j] = scale * p[j] * (dp[j] - dot);
}

ETA_INLINE void dropout_item(const ulong i, dropout_PARAMS) {
    ulong z = seed + stream * 0xD1B54A32D192ED03UL + step * 0x9E3779B97F4A7C15UL + i * 0xBF58476D1CE4E5B9UL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
    z ^= z >> 31;
    const float value = (uint)(z >> 40) < threshold ? source[source_offset + i] * scale : 0.0f;
    const ulong at = destination_offset + i;
    destination[at] = accumulate ? destination[at] + value : value;
}

ETA_INLINE void add_item(const ulong i, add_PARAMS) {
    float value = a[a_offset + i];
    if (has_b) value += b[b_offset + i];
    const ulong at = destination_offset + i;
    destination[at] = accumulate ? destination[at] + value : value;
}
