//! A CUDA driver library that finds no device gives `BackendError::Unavailable`, not a panic.
//!
//! The test builds two stub libraries with the system C compiler: `libcuda.so.1`, whose `cuInit`
//! returns `CUDA_ERROR_NO_DEVICE` (100), and an empty `libnvrtc.so.13`; then it runs itself again
//! with `LD_LIBRARY_PATH` pointing at them (cudarc opens the libraries once per process) and the
//! child opens the backend twice (the stub has only the symbols cudarc calls on this path: it
//! resolves symbols at their first call). Prints `SKIP` without a C compiler, and on machines with a real
//! driver (the stub could not shadow it reliably).

#![cfg(not(target_arch = "wasm32"))]

use lowp_backend::BackendError;
use lowp_cuda::CudaBackend;
use std::path::Path;
use std::process::Command;

const CHILD: &str = "LOWP_CUDA_NO_DEVICE_CHILD";

#[test]
fn a_driver_without_devices_is_unavailable() {
    if std::env::var_os(CHILD).is_some() {
        for _ in 0..2 {
            match CudaBackend::new() {
                Err(BackendError::Unavailable { backend, reason }) => {
                    assert_eq!(backend, "cuda");
                    println!("CHILD-OK: {reason}");
                }
                other => panic!("expected Unavailable, got {other:?}"),
            }
        }
        return;
    }
    // SAFETY: only tries to open the shared library.
    if unsafe { cudarc::driver::sys::is_culib_present() } {
        println!("SKIP: a real CUDA driver library is present");
        return;
    }
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("lowp_cuda_stub_{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("stub folder");
    let stubs = [
        (
            "libcuda.so.1",
            "int cuInit(unsigned int flags) { (void)flags; return 100; }\n\
             int cuDriverGetVersion(int *version) { *version = 13000; return 0; }\n\
             int cuGetErrorString(int error, const char **text) {\n\
                 (void)error; *text = \"no CUDA-capable device is detected\"; return 0; }\n\
             int cuGetErrorName(int error, const char **text) {\n\
                 (void)error; *text = \"CUDA_ERROR_NO_DEVICE\"; return 0; }\n",
        ),
        (
            "libnvrtc.so.13",
            "int nvrtcVersion(int *major, int *minor) { *major = 13; *minor = 0; return 0; }\n",
        ),
    ];
    for (name, source) in stubs {
        let c = dir.join(format!("{name}.c"));
        std::fs::write(&c, source).expect("stub source");
        let built = Command::new("cc")
            .args(["-shared", "-fPIC", "-o"])
            .arg(dir.join(name))
            .arg(&c)
            .status();
        match built {
            Ok(status) if status.success() => {}
            _ => {
                println!("SKIP: no C compiler (cc) to build the stub driver");
                let _ = std::fs::remove_dir_all(&dir);
                return;
            }
        }
    }
    let output = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "a_driver_without_devices_is_unavailable",
            "--nocapture",
        ])
        .env(CHILD, "1")
        .env("LD_LIBRARY_PATH", &dir)
        .output()
        .expect("child runs");
    let _ = std::fs::remove_dir_all(&dir);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "child failed:\n{stdout}\n{stderr}");
    assert_eq!(stdout.matches("CHILD-OK").count(), 2, "{stdout}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    println!("{stdout}");
}
