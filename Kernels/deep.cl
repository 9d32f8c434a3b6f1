// deep.cl — the program of the deep-model layers: convolution patches, pooling, normalisation, embeddings,
// attention, dropout (bodies in deep/, written once for both backends; see deep/signatures.cl).
#include "deep/opencl.cl"
