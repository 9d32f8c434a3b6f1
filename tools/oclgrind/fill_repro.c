// Oclgrind 21.10's --uninitialized check loses track of buffers that the host initialised in two ways a real
// program meets at once: a minimal host program that shows both.
//
// Its Uninitialized plugin keeps one shadow block per buffer slot (src/plugins/Uninitialized.cpp, unchanged
// upstream as of 2026):
//   fill     every host store replaces the slot's shadow block with one the size of that store, at the store's
//            offset (hostMemoryStore -> allocAndStoreShadowMemory -> ShadowMemory::allocate). clEnqueueFillBuffer
//            stores its pattern one element at a time, so after filling 64 floats the shadow is one 4-byte block
//            that never received the "clean" marks: every later read of the buffer is reported, and kernel
//            stores past the first float are dropped from the shadow.
//   reuse    a released buffer's slot is given to the next clCreateBuffer, and the plugin has no
//            memoryDeallocated hook: the new buffer inherits the old one's shadow block (its size and its marks),
//            so even kernel stores into the new buffer are lost past the old size.
//   write    a blocking whole-buffer clEnqueueWriteBuffer at offset 0 replaces the block with one of the full
//            size, all clean: the pattern Eta uses on this simulator (Buffer.fill), and the one run here that
//            must print no report.
//
// Build and run (tools/oclgrind/run.sh does this):
//   cc -o fill_repro fill_repro.c -lOpenCL
//   oclgrind --uninitialized ./fill_repro fill     # 64 reports: "Controlflow depends on uninitialized value"
//   oclgrind --uninitialized ./fill_repro reuse    # reports for every float past the first 16
//   oclgrind --uninitialized ./fill_repro write    # clean
// The program's own results are right in every mode: only the simulator's bookkeeping is wrong.
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#include <stdio.h>
#include <string.h>

static const char* source =
    "__kernel void bump(__global float* x) {\n"
    "    const size_t i = get_global_id(0);\n"
    "    if (x[i] < 0.5f) x[i] += 1.0f;   // control flow on the value the host initialised\n"
    "}\n";

static const char* zero_source = "__kernel void set(__global float* x, const float v) { x[get_global_id(0)] = v; }\n";

#define CHECK(call) do { cl_int status_ = (call); if (status_ != CL_SUCCESS) { \
    fprintf(stderr, "%s failed: %d\n", #call, status_); return 1; } } while (0)

int main(int argc, char** argv) {
    const char* mode = argc > 1 ? argv[1] : "fill";
    enum { count = 64 };
    cl_platform_id platform; cl_device_id device; cl_int status;
    CHECK(clGetPlatformIDs(1, &platform, NULL));
    CHECK(clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, 1, &device, NULL));
    cl_context context = clCreateContext(NULL, 1, &device, NULL, NULL, &status); CHECK(status);
    cl_command_queue queue = clCreateCommandQueue(context, device, 0, &status); CHECK(status);
    float zeros[count] = {0};
    if (strcmp(mode, "reuse") == 0) {
        // A small buffer, written whole and released: its slot goes to the next buffer with its 64-byte shadow.
        cl_mem small = clCreateBuffer(context, CL_MEM_READ_WRITE, 16 * sizeof(float), NULL, &status); CHECK(status);
        CHECK(clEnqueueWriteBuffer(queue, small, CL_TRUE, 0, 16 * sizeof(float), zeros, 0, NULL, NULL));
        CHECK(clReleaseMemObject(small));
    }
    cl_mem buffer = clCreateBuffer(context, CL_MEM_READ_WRITE, count * sizeof(float), NULL, &status); CHECK(status);
    if (strcmp(mode, "fill") == 0) {
        const float zero = 0.0f;
        CHECK(clEnqueueFillBuffer(queue, buffer, &zero, sizeof zero, 0, sizeof zeros, 0, NULL, NULL));
    } else if (strcmp(mode, "reuse") == 0) {
        // Zeroed by a kernel, so no host store resizes the inherited shadow.
        const float zero = 0.0f;
        cl_program program = clCreateProgramWithSource(context, 1, &zero_source, NULL, &status); CHECK(status);
        CHECK(clBuildProgram(program, 1, &device, "", NULL, NULL));
        cl_kernel zero_kernel = clCreateKernel(program, "set", &status); CHECK(status);
        CHECK(clSetKernelArg(zero_kernel, 0, sizeof buffer, &buffer));
        CHECK(clSetKernelArg(zero_kernel, 1, sizeof zero, &zero));
        size_t global = count;
        CHECK(clEnqueueNDRangeKernel(queue, zero_kernel, 1, NULL, &global, NULL, 0, NULL, NULL));
        clReleaseKernel(zero_kernel); clReleaseProgram(program);
    } else {
        CHECK(clEnqueueWriteBuffer(queue, buffer, CL_TRUE, 0, sizeof zeros, zeros, 0, NULL, NULL));
    }
    cl_program program = clCreateProgramWithSource(context, 1, &source, NULL, &status); CHECK(status);
    CHECK(clBuildProgram(program, 1, &device, "", NULL, NULL));
    cl_kernel kernel = clCreateKernel(program, "bump", &status); CHECK(status);
    CHECK(clSetKernelArg(kernel, 0, sizeof buffer, &buffer));
    size_t global = count;
    CHECK(clEnqueueNDRangeKernel(queue, kernel, 1, NULL, &global, NULL, 0, NULL, NULL));
    float result[count];
    CHECK(clEnqueueReadBuffer(queue, buffer, CL_TRUE, 0, sizeof result, result, 0, NULL, NULL));
    int wrong = 0;
    for (int i = 0; i < count; i++) wrong += result[i] != 1.0f;
    printf("%s: %d of %d values wrong (each was set to 0, then bumped to 1)\n", mode, wrong, count);
    clReleaseKernel(kernel); clReleaseProgram(program); clReleaseMemObject(buffer);
    clReleaseCommandQueue(queue); clReleaseContext(context);
    return wrong != 0;
}
