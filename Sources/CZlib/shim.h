// zlib (Debian zlib1g-dev), to read gzipped IDX files.
#include <zlib.h>
