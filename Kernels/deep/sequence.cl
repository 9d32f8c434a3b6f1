// deep/sequence.cl — embeddings, causal attention, dropout and sums (bodies; see deep/signatures.cl).
//
// What: embedding_forward adds a token row and a position row per token; its backward sums the output gradient into
//       the tables, one column (tokens) or one (position, column) pair (positions) per work-item, in row order, so no
//       two work-items touch one element. Ids outside [0, vocabulary) read zeros and update nothing.
//       attention_*: causal scaled-dot-product attention per (sequence, head, query row) over the fused [q | k | v]
//       rows. The forward pass takes the row maximum, then the exponentials' sum and the weighted values, and saves
//       lse = max + log(sum); the backward passes recompute p = exp(s − lse): the query pass writes dq (with
//       delta = dO·O), the key pass dk and dv by walking the query rows that see its key. No T×T matrix is stored.
//       dropout: the counter-based mask of Reference.dropoutDraw (SplitMix64's finaliser of seed, stream, step and
//       index), the same bits on every backend. add: destination (+)= a (+ b).
// Assumptions: the attention output and dq rows are accumulated in place in global memory (head widths need no
//       private arrays).

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

// The (sequence, head, row) of work-item i and the first float of that token's fused row.
#define ETA_ATTENTION_INDEX(i) \
    const ulong t = (i) / sequence_length, row = (i) - t * sequence_length; \
    const ulong sequence = t / heads, head = t - sequence * heads; \
    const ulong embed = heads * head_width, first_row = sequence * sequence_length; \
    const ulong head_column = head * head_width;

ETA_INLINE float eta_attention_score(ETA_GLOBAL const float* qkv, const ulong qkv_offset, const ulong embed,
                                     const ulong query_row, const ulong key_row, const ulong head_column,
                                     const ulong head_width, const float scale) {
    ETA_GLOBAL const float* q = qkv + qkv_offset + query_row * 3 * embed + head_column;
    ETA_GLOBAL const float* k = qkv + qkv_offset + key_row * 3 * embed + embed + head_column;
    float dot = 0.0f;
    for (ulong d = 0; d < head_width; d++) dot += q[d] * k[d];
    return dot * scale;
}

ETA_INLINE void attention_forward_item(const ulong i, attention_forward_PARAMS) {
    ETA_ATTENTION_INDEX(i)
    const ulong query = first_row + row;
    float maximum = eta_attention_score(qkv, qkv_offset, embed, query, first_row, head_column, head_width, scale);
    for (ulong j = 1; j <= row; j++)
        maximum = eta_fmax(
            maximum, eta_attention_score(qkv, qkv_offset, embed, query, first_row + j, head_column, head_width, scale));
    ETA_GLOBAL float* out = output + output_offset + query * embed + head_column;
    for (ulong d = 0; d < head_width; d++) out[d] = 0.0f;
    float sum = 0.0f;
    for (ulong j = 0; j <= row; j++) {
        const float p = eta_exp(
            eta_attention_score(qkv, qkv_offset, embed, query, first_row + j, head_column, head_width, scale) - maximum);
        sum += p;
        ETA_GLOBAL const float* v = qkv + qkv_offset + (first_row + j) * 3 * embed + 2 * embed + head_column;
        for (ulong d = 0; d < head_width; d++) out[d] += p * v[d];
    }
    const float inverse = 1.0f / sum;
    for (ulong d = 0; d < head_width; d++) out[d] *= inverse;
    lse[lse_offset + i] = maximum + eta_log(sum);
}

ETA_INLINE float eta_dot(ETA_GLOBAL const float* a, ETA_GLOBAL const float* b, const ulong n) {
    float dot = 0.0f;
    for (ulong d = 0; d < n; d++) dot += a[d] * b[d];
    return dot;
}

ETA_INLINE void attention_backward_query_item(const ulong i, attention_backward_query_PARAMS) {
    ETA_ATTENTION_INDEX(i)
    const ulong query = first_row + row;
    ETA_GLOBAL const float* d_out = grad_output + grad_output_offset + query * embed + head_column;
    const float delta = eta_dot(d_out, output + output_offset + query * embed + head_column, head_width);
    ETA_GLOBAL float* dq = grad_qkv + grad_qkv_offset + query * 3 * embed + head_column;
    for (ulong d = 0; d < head_width; d++) dq[d] = 0.0f;
    const float row_lse = lse[lse_offset + i];
    for (ulong j = 0; j <= row; j++) {
        const ulong key = first_row + j;
        const float p =
            eta_exp(eta_attention_score(qkv, qkv_offset, embed, query, key, head_column, head_width, scale) - row_lse);
        ETA_GLOBAL const float* v = qkv + qkv_offset + key * 3 * embed + 2 * embed + head_column;
        ETA_GLOBAL const float* k = qkv + qkv_offset + key * 3 * embed + embed + head_column;
        const float ds = p * (eta_dot(d_out, v, head_width) - delta) * scale;
        for (ulong d = 0; d < head_width; d++) dq[d] += ds * k[d];
    }
}

ETA_INLINE void attention_backward_key_item(const ulong i, attention_backward_key_PARAMS) {
    ETA_ATTENTION_INDEX(i)
    const ulong key = first_row + row;
    ETA_GLOBAL float* dk = grad_qkv + grad_qkv_offset + key * 3 * embed + embed + head_column;
    ETA_GLOBAL float* dv = dk + embed;
    for (ulong d = 0; d < head_width; d++) {
        dk[d] = 0.0f;
        dv[d] = 0.0f;
    }
    ETA_GLOBAL const float* v = qkv + qkv_offset + key * 3 * embed + 2 * embed + head_column;
    const ulong lse_row = lse_offset + i - row;
    for (ulong j = row; j < sequence_length; j++) {
        const ulong query = first_row + j;
        ETA_GLOBAL const float* d_out = grad_output + grad_output_offset + query * embed + head_column;
        ETA_GLOBAL const float* q = qkv + qkv_offset + query * 3 * embed + head_column;
        const float p = eta_exp(
            eta_attention_score(qkv, qkv_offset, embed, query, key, head_column, head_width, scale) - lse[lse_row + j]);
        const float delta = eta_dot(d_out, output + output_offset + query * embed + head_column, head_width);
        const float ds = p * (eta_dot(d_out, v, head_width) - delta) * scale;
        for (ulong d = 0; d < head_width; d++) {
            dv[d] += p * d_out[d];
            dk[d] += ds * q[d];
        }
    }
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
