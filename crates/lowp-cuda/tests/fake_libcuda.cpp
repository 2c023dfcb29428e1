// Test-only: an emulated CUDA driver library (libcuda.so.1) for tests/emulated_device.rs and
// scripts/emulated-cuda.sh. It implements the driver functions cudarc calls on lowp-cuda's paths
// with host memory (a device pointer is a host address), and cuLaunchKernel runs the kernels of
// kernels/, compiled into this library as host C++ (emulation.hpp), over the launch's grid. The
// PTX that NVRTC produced is accepted and ignored: a module's functions are looked up by name.
// So the whole backend, its cudarc launch code included, runs on a machine without a GPU.
//
// Build: g++ -std=c++20 -pthread -O2 -ffp-contract=off -shared -fPIC -D__device__=
//        -D__forceinline__=inline -D__constant__= -I kernels -o DIR/libcuda.so.1 fake_libcuda.cpp

#include "emulation.hpp"

#include <cstdint>
#include <cstdlib>
#include <mutex>

using CUresult = int;
using CUdevice = int;
using CUdeviceptr = unsigned long long;
using CUcontext = void*;
using CUstream = void*;
using CUmodule = void*;

constexpr CUresult CUDA_SUCCESS = 0;
constexpr CUresult CUDA_ERROR_INVALID_VALUE = 1;
constexpr CUresult CUDA_ERROR_OUT_OF_MEMORY = 2;
constexpr CUresult CUDA_ERROR_INVALID_DEVICE = 101;
constexpr CUresult CUDA_ERROR_NOT_FOUND = 500;

// CUdevice_attribute values used by cudarc on these paths.
constexpr int ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75;
constexpr int ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76;

static int context_token = 1;
static int module_token = 2;
static thread_local CUcontext current_context = nullptr;
// One launch at a time: __shared__ variables and the block barrier are process-wide here.
static std::mutex launch_mutex;

// A kernel: its name, whether its blocks synchronise, and how it unpacks cuLaunchKernel's
// parameter pointers.
struct Kernel {
    const char* name;
    bool synchronising;
    void (*run)(Dim3Shim grid, Dim3Shim block, void** params);
};

template <typename T>
static T value_at(void** params, int i) {
    return *static_cast<T*>(params[i]);
}

template <typename T>
static T* pointer_at(void** params, int i) {
    return reinterpret_cast<T*>(static_cast<uintptr_t>(*static_cast<CUdeviceptr*>(params[i])));
}

// One of gemm.cu's instantiations (they all take the same arguments).
template <auto Entry>
static void run_gemm(Dim3Shim g, Dim3Shim b, void** p) {
    const auto params = value_at<GemmParams>(p, 0);
    run_kernel(g, b, true, [&] { Entry(params, pointer_at<const u32>(p, 1), pointer_at<const u32>(p, 2), pointer_at<u32>(p, 3)); });
}

static const Kernel KERNELS[] = {
    {"quantize", false, [](Dim3Shim g, Dim3Shim b, void** p) {
         const auto params = value_at<QuantizeParams>(p, 0);
         run_kernel(g, b, false, [&] { quantize(params, pointer_at<const u32>(p, 1), pointer_at<u32>(p, 2)); });
     }},
    {"block_max", true, [](Dim3Shim g, Dim3Shim b, void** p) {
         const auto params = value_at<BlockParams>(p, 0);
         run_kernel(g, b, true, [&] { block_max(params, pointer_at<const u32>(p, 1), pointer_at<u32>(p, 2)); });
     }},
    {"block_apply", false, [](Dim3Shim g, Dim3Shim b, void** p) {
         const auto params = value_at<BlockParams>(p, 0);
         run_kernel(g, b, false, [&] {
             block_apply(params, pointer_at<const u32>(p, 1), pointer_at<const u32>(p, 2), pointer_at<u32>(p, 3));
         });
     }},
    {"to_half", false, [](Dim3Shim g, Dim3Shim b, void** p) {
         const auto params = value_at<ConvertParams>(p, 0);
         run_kernel(g, b, false, [&] { to_half(params, pointer_at<const u32>(p, 1), pointer_at<u16>(p, 2)); });
     }},
    {"to_bfloat16", false, [](Dim3Shim g, Dim3Shim b, void** p) {
         const auto params = value_at<ConvertParams>(p, 0);
         run_kernel(g, b, false, [&] { to_bfloat16(params, pointer_at<const u32>(p, 1), pointer_at<u16>(p, 2)); });
     }},
    {"half_to_float", false, [](Dim3Shim g, Dim3Shim b, void** p) {
         const auto params = value_at<ConvertParams>(p, 0);
         run_kernel(g, b, false, [&] { half_to_float(params, pointer_at<const u16>(p, 1), pointer_at<u32>(p, 2)); });
     }},
    {"gemm", true, run_gemm<gemm>},
    {"gemm_nearest_grid", true, run_gemm<gemm_nearest_grid>},
    {"gemm_stochastic_grid", true, run_gemm<gemm_stochastic_grid>},
    {"unary", false, [](Dim3Shim g, Dim3Shim b, void** p) {
         const auto params = value_at<OpsParams>(p, 0);
         run_kernel(g, b, false, [&] {
             unary(params, pointer_at<const u32>(p, 1), pointer_at<const u32>(p, 2), pointer_at<const u32>(p, 3), pointer_at<u32>(p, 4));
         });
     }},
    {"binary", false, [](Dim3Shim g, Dim3Shim b, void** p) {
         const auto params = value_at<OpsParams>(p, 0);
         run_kernel(g, b, false, [&] {
             binary(params, pointer_at<const u32>(p, 1), pointer_at<const u32>(p, 2), pointer_at<const u32>(p, 3), pointer_at<u32>(p, 4));
         });
     }},
    {"select_values", false, [](Dim3Shim g, Dim3Shim b, void** p) {
         const auto params = value_at<OpsParams>(p, 0);
         run_kernel(g, b, false, [&] {
             select_values(params, pointer_at<const u32>(p, 1), pointer_at<const u32>(p, 2), pointer_at<const u32>(p, 3), pointer_at<u32>(p, 4));
         });
     }},
    {"reduce", false, [](Dim3Shim g, Dim3Shim b, void** p) {
         const auto params = value_at<ReduceParams>(p, 0);
         run_kernel(g, b, false, [&] { reduce(params, pointer_at<const u32>(p, 1), pointer_at<u32>(p, 2)); });
     }},
    {"strided_copy", false, [](Dim3Shim g, Dim3Shim b, void** p) {
         const auto params = value_at<MoveParams>(p, 0);
         run_kernel(g, b, false, [&] {
             movement_module::strided_copy(params, pointer_at<const u32>(p, 1), pointer_at<u32>(p, 2), pointer_at<const u32>(p, 3));
         });
     }},
    {"scatter_add", false, [](Dim3Shim g, Dim3Shim b, void** p) {
         const auto params = value_at<MoveParams>(p, 0);
         run_kernel(g, b, false, [&] {
             movement_module::scatter_add(params, pointer_at<const u32>(p, 1), pointer_at<u32>(p, 2), pointer_at<const u32>(p, 3));
         });
     }},
    {"im2col", false, [](Dim3Shim g, Dim3Shim b, void** p) {
         const auto params = value_at<MoveParams>(p, 0);
         run_kernel(g, b, false, [&] {
             movement_module::im2col(params, pointer_at<const u32>(p, 1), pointer_at<u32>(p, 2), pointer_at<const u32>(p, 3));
         });
     }},
    {"col2im", false, [](Dim3Shim g, Dim3Shim b, void** p) {
         const auto params = value_at<MoveParams>(p, 0);
         run_kernel(g, b, false, [&] {
             movement_module::col2im(params, pointer_at<const u32>(p, 1), pointer_at<u32>(p, 2), pointer_at<const u32>(p, 3));
         });
     }},
};

extern "C" {

CUresult cuInit(unsigned int) {
    return CUDA_SUCCESS;
}

CUresult cuDriverGetVersion(int* version) {
    *version = 13000;
    return CUDA_SUCCESS;
}

CUresult cuGetErrorString(CUresult, const char** text) {
    *text = "error of the emulated CUDA driver";
    return CUDA_SUCCESS;
}

CUresult cuGetErrorName(CUresult, const char** text) {
    *text = "CUDA_ERROR_EMULATED";
    return CUDA_SUCCESS;
}

CUresult cuDeviceGetCount(int* count) {
    *count = 1;
    return CUDA_SUCCESS;
}

CUresult cuDeviceGet(CUdevice* device, int ordinal) {
    if (ordinal != 0) {
        return CUDA_ERROR_INVALID_DEVICE;
    }
    *device = 0;
    return CUDA_SUCCESS;
}

CUresult cuDeviceGetAttribute(int* value, int attribute, CUdevice) {
    // Compute capability 9.0; every other attribute (memory pools included) 0.
    *value = attribute == ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR ? 9 : 0;
    (void)ATTRIBUTE_COMPUTE_CAPABILITY_MINOR;
    return CUDA_SUCCESS;
}

CUresult cuDeviceGetName(char* name, int length, CUdevice) {
    std::snprintf(name, static_cast<size_t>(length), "%s", "lowp emulated CUDA device (host C++)");
    return CUDA_SUCCESS;
}

CUresult cuDevicePrimaryCtxRetain(CUcontext* context, CUdevice) {
    *context = &context_token;
    return CUDA_SUCCESS;
}

CUresult cuDevicePrimaryCtxRelease_v2(CUdevice) {
    return CUDA_SUCCESS;
}

CUresult cuCtxGetCurrent(CUcontext* context) {
    *context = current_context;
    return CUDA_SUCCESS;
}

CUresult cuCtxSetCurrent(CUcontext context) {
    current_context = context;
    return CUDA_SUCCESS;
}

CUresult cuCtxSynchronize() {
    return CUDA_SUCCESS;
}

CUresult cuStreamSynchronize(CUstream) {
    return CUDA_SUCCESS;
}

CUresult cuMemAlloc_v2(CUdeviceptr* pointer, size_t bytes) {
    void* memory = std::malloc(bytes == 0 ? 1 : bytes);
    if (memory == nullptr) {
        return CUDA_ERROR_OUT_OF_MEMORY;
    }
    *pointer = reinterpret_cast<uintptr_t>(memory);
    return CUDA_SUCCESS;
}

CUresult cuMemFree_v2(CUdeviceptr pointer) {
    std::free(reinterpret_cast<void*>(static_cast<uintptr_t>(pointer)));
    return CUDA_SUCCESS;
}

CUresult cuMemsetD8Async(CUdeviceptr pointer, unsigned char value, size_t bytes, CUstream) {
    std::memset(reinterpret_cast<void*>(static_cast<uintptr_t>(pointer)), value, bytes);
    return CUDA_SUCCESS;
}

CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr destination, const void* source, size_t bytes, CUstream) {
    std::memcpy(reinterpret_cast<void*>(static_cast<uintptr_t>(destination)), source, bytes);
    return CUDA_SUCCESS;
}

CUresult cuMemcpyDtoHAsync_v2(void* destination, CUdeviceptr source, size_t bytes, CUstream) {
    std::memcpy(destination, reinterpret_cast<const void*>(static_cast<uintptr_t>(source)), bytes);
    return CUDA_SUCCESS;
}

CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr destination, CUdeviceptr source, size_t bytes, CUstream) {
    std::memmove(reinterpret_cast<void*>(static_cast<uintptr_t>(destination)),
                 reinterpret_cast<const void*>(static_cast<uintptr_t>(source)), bytes);
    return CUDA_SUCCESS;
}

CUresult cuModuleLoadData(CUmodule* module, const void* image) {
    if (image == nullptr) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    *module = &module_token;
    return CUDA_SUCCESS;
}

CUresult cuModuleUnload(CUmodule) {
    return CUDA_SUCCESS;
}

CUresult cuModuleGetFunction(const Kernel** function, CUmodule, const char* name) {
    for (const auto& kernel : KERNELS) {
        if (std::strcmp(kernel.name, name) == 0) {
            *function = &kernel;
            return CUDA_SUCCESS;
        }
    }
    return CUDA_ERROR_NOT_FOUND;
}

CUresult cuLaunchKernel(const Kernel* function, unsigned grid_x, unsigned grid_y, unsigned grid_z, unsigned block_x,
                        unsigned block_y, unsigned block_z, unsigned, CUstream, void** params, void**) {
    if (grid_x == 0 || grid_y == 0 || grid_z == 0 || grid_y > 65535 || grid_z > 65535 ||
        block_x * block_y * block_z > 1024) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    std::lock_guard<std::mutex> lock(launch_mutex);
    function->run(Dim3Shim{grid_x, grid_y, grid_z}, Dim3Shim{block_x, block_y, block_z}, params);
    return CUDA_SUCCESS;
}

}  // extern "C"
