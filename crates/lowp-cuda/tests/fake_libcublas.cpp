// Test-only: an emulated cuBLAS (libcublas.so) for scripts/emulated-cuda.sh, next to the emulated
// driver of fake_libcuda.cpp (whose device pointers are host addresses). It implements the
// entry points lowp-cuda's cuBLAS fast path calls (src/cublas.rs): cublasCreate_v2,
// cublasDestroy_v2, cublasSetStream_v2 and cublasGemmStridedBatchedEx, column-major as cuBLAS
// documents it, for the types and compute types of the fast path's routes.
//
// Arithmetic: A and B are read as binary32 (binary16 and bfloat16 widen exactly); the
// `32F_FAST_16F`, `_FAST_16BF` and `_FAST_TF32` compute types round them to nearest even to
// binary16, bfloat16 or TF32 first (what tensor cores may do); products and sums are binary64, and
// the result is rounded once to C's type (binary32 or binary16). So it is not bit-exact with lowp's
// kernel either, just as cuBLAS is not. Arguments cuBLAS rejects (bad leading dimensions, a type
// combination without a compute type, negative sizes) give CUBLAS_STATUS_INVALID_VALUE.
//
// Build: g++ -std=c++20 -O2 -shared -fPIC -o DIR/libcublas.so fake_libcublas.cpp

#include <cstdint>
#include <cstring>

namespace {

constexpr int STATUS_SUCCESS = 0;
constexpr int STATUS_INVALID_VALUE = 7;
constexpr int STATUS_NOT_SUPPORTED = 15;

// cudaDataType
constexpr int R_32F = 0;
constexpr int R_16F = 2;
constexpr int R_16BF = 14;
// cublasComputeType_t
constexpr int COMPUTE_16F = 64;
constexpr int COMPUTE_32F = 68;
constexpr int COMPUTE_32F_FAST_16F = 74;
constexpr int COMPUTE_32F_FAST_16BF = 75;
constexpr int COMPUTE_32F_FAST_TF32 = 77;
// cublasOperation_t
constexpr int OP_N = 0;
constexpr int OP_T = 1;

int handle_token = 3;

float float_of_bits(uint32_t bits) {
    float value;
    std::memcpy(&value, &bits, 4);
    return value;
}

uint32_t bits_of_float(float value) {
    uint32_t bits;
    std::memcpy(&bits, &value, 4);
    return bits;
}

// `x` rounded to nearest even to `fraction_bits` fraction bits with binary32's exponent range
// (bfloat16: 7, TF32: 10).
float round_fraction(float x, int fraction_bits) {
    uint32_t bits = bits_of_float(x);
    if ((bits & 0x7fffffffu) > 0x7f800000u) {
        return x;
    }
    const int dropped = 23 - fraction_bits;
    bits += (1u << (dropped - 1)) - 1u + ((bits >> dropped) & 1u);
    return float_of_bits(bits & ~((1u << dropped) - 1u));
}

// Element `index` of an array of `type` as binary32.
float load(const void* array, int type, int64_t index) {
    switch (type) {
        case R_32F:
            return static_cast<const float*>(array)[index];
        case R_16F:
            return static_cast<float>(static_cast<const _Float16*>(array)[index]);
        default:  // R_16BF
            return float_of_bits(uint32_t(static_cast<const uint16_t*>(array)[index]) << 16);
    }
}

// The input rounding of a compute type.
float round_input(float x, int compute) {
    switch (compute) {
        case COMPUTE_32F_FAST_16F:
            return static_cast<float>(static_cast<_Float16>(x));
        case COMPUTE_32F_FAST_16BF:
            return round_fraction(x, 7);
        case COMPUTE_32F_FAST_TF32:
            return round_fraction(x, 10);
        default:
            return x;
    }
}

bool known_type(int type) {
    return type == R_32F || type == R_16F || type == R_16BF;
}

// Whether cuBLAS has the combination: A and B alike; 16F computes on 16F arrays only; the
// 32F compute types write 32F (or 16F from 16F inputs) C.
bool supported(int a_type, int b_type, int c_type, int compute) {
    if (a_type != b_type) {
        return false;
    }
    switch (compute) {
        case COMPUTE_16F:
            return a_type == R_16F && c_type == R_16F;
        case COMPUTE_32F:
            return c_type == R_32F || c_type == a_type;
        case COMPUTE_32F_FAST_16F:
        case COMPUTE_32F_FAST_16BF:
        case COMPUTE_32F_FAST_TF32:
            return a_type == R_32F && c_type == R_32F;
        default:
            return false;
    }
}

}  // namespace

extern "C" {

int cublasCreate_v2(void** handle) {
    *handle = &handle_token;
    return STATUS_SUCCESS;
}

int cublasDestroy_v2(void* handle) {
    return handle == &handle_token ? STATUS_SUCCESS : STATUS_INVALID_VALUE;
}

int cublasSetStream_v2(void* handle, void*) {
    return handle == &handle_token ? STATUS_SUCCESS : STATUS_INVALID_VALUE;
}

// C[b] = alpha · op(A[b]) · op(B[b]) + beta · C[b] for b < batch, column-major: op(A) is m×k,
// op(B) is k×n, C is m×n with leading dimension ldc.
int cublasGemmStridedBatchedEx(void* handle, int transa, int transb, int m, int n, int k, const void* alpha,
                               const void* a, int a_type, int lda, long long stride_a, const void* b, int b_type,
                               int ldb, long long stride_b, const void* beta, void* c, int c_type, int ldc,
                               long long stride_c, int batch, int compute, int) {
    if (handle != &handle_token || m < 0 || n < 0 || k < 0 || batch < 0) {
        return STATUS_INVALID_VALUE;
    }
    if ((transa != OP_N && transa != OP_T) || (transb != OP_N && transb != OP_T)) {
        return STATUS_INVALID_VALUE;
    }
    const int a_rows = transa == OP_N ? m : k;
    const int b_rows = transb == OP_N ? k : n;
    if (lda < (a_rows > 1 ? a_rows : 1) || ldb < (b_rows > 1 ? b_rows : 1) || ldc < (m > 1 ? m : 1)) {
        return STATUS_INVALID_VALUE;
    }
    if (!known_type(a_type) || !known_type(b_type) || !known_type(c_type)) {
        return STATUS_NOT_SUPPORTED;
    }
    if (!supported(a_type, b_type, c_type, compute)) {
        return STATUS_NOT_SUPPORTED;
    }
    // alpha and beta are the compute type's scalars: binary16 for 16F, binary32 otherwise.
    const double scale_ab = compute == COMPUTE_16F ? static_cast<double>(*static_cast<const _Float16*>(alpha))
                                                   : static_cast<double>(*static_cast<const float*>(alpha));
    const double scale_c = compute == COMPUTE_16F ? static_cast<double>(*static_cast<const _Float16*>(beta))
                                                  : static_cast<double>(*static_cast<const float*>(beta));
    for (int64_t entry = 0; entry < batch; entry++) {
        for (int64_t j = 0; j < n; j++) {
            for (int64_t i = 0; i < m; i++) {
                double sum = 0.0;
                for (int64_t l = 0; l < k; l++) {
                    const int64_t a_index = entry * stride_a + (transa == OP_N ? i + l * lda : l + i * lda);
                    const int64_t b_index = entry * stride_b + (transb == OP_N ? l + j * ldb : j + l * ldb);
                    const double x = round_input(load(a, a_type, a_index), compute);
                    const double y = round_input(load(b, b_type, b_index), compute);
                    sum += x * y;
                }
                const int64_t c_index = entry * stride_c + i + j * ldc;
                // beta = 0: C is not read (it may hold anything), as in cuBLAS.
                double result = scale_ab * sum;
                if (scale_c != 0.0) {
                    result += scale_c * static_cast<double>(load(c, c_type, c_index));
                }
                if (c_type == R_16F) {
                    static_cast<_Float16*>(c)[c_index] = static_cast<_Float16>(result);
                } else if (c_type == R_32F) {
                    static_cast<float*>(c)[c_index] = static_cast<float>(result);
                } else {
                    return STATUS_NOT_SUPPORTED;
                }
            }
        }
    }
    return STATUS_SUCCESS;
}

}  // extern "C"
