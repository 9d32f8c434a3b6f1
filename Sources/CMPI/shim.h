// Open MPI's C API (Debian libopenmpi-dev, found through pkg-config `ompi-c`). Open MPI defines its predefined
// handles (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, ...) as casts of addresses of library globals, and MPI_IN_PLACE as
// ((void *) 1): Swift's importer drops such macros, so each is returned by a static inline function here.
#include <mpi.h>

static inline MPI_Comm eta_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype eta_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype eta_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype eta_mpi_byte(void) { return MPI_BYTE; }
static inline MPI_Datatype eta_mpi_int(void) { return MPI_INT; }
static inline MPI_Op eta_mpi_sum(void) { return MPI_SUM; }
static inline MPI_Op eta_mpi_max(void) { return MPI_MAX; }
static inline MPI_Op eta_mpi_min(void) { return MPI_MIN; }
static inline void *eta_mpi_in_place(void) { return MPI_IN_PLACE; }
static inline MPI_Status *eta_mpi_status_ignore(void) { return MPI_STATUS_IGNORE; }
static inline MPI_Errhandler eta_mpi_errors_return(void) { return MPI_ERRORS_RETURN; }
static inline MPI_Request eta_mpi_request_null(void) { return MPI_REQUEST_NULL; }
