//! The compute backend of the tensor view: lowp-wgpu on the browser's WebGPU when an adapter is
//! available, else lowp-backend's CPU backend (always on native builds).

use lowp_backend::{Backend, CpuBackend};
use lowp_formats::Quantizer;

/// The backend in use.
pub enum ComputeBackend {
    /// lowp-backend's CPU backend (single-threaded in wasm).
    Cpu(CpuBackend),
    /// lowp-wgpu on the browser's WebGPU.
    #[cfg(target_arch = "wasm32")]
    Wgpu(std::sync::Arc<lowp_wgpu::WgpuBackend>),
}

impl ComputeBackend {
    /// Opens WebGPU through lowp-wgpu when possible, else the CPU backend; the text says which
    /// and why (adapter name, or why WebGPU is unavailable).
    // In wasm the backend is single-threaded (not Send/Sync), but lowp-tensor's `Device::Wgpu`
    // shares a backend through an `Arc`; the page only ever uses it from its one thread.
    #[cfg_attr(target_arch = "wasm32", expect(clippy::arc_with_non_send_sync))]
    pub async fn detect() -> (Self, String) {
        #[cfg(target_arch = "wasm32")]
        let detected = match lowp_wgpu::WgpuBackend::request().await {
            Ok(backend) => {
                let info = backend.adapter_info();
                let adapter = if info.name.is_empty() {
                    format!("{:?}", info.backend)
                } else {
                    format!("{} ({:?})", info.name, info.backend)
                };
                let text = format!("WebGPU through lowp-wgpu, adapter: {adapter}");
                (ComputeBackend::Wgpu(std::sync::Arc::new(backend)), text)
            }
            Err(error) => (
                ComputeBackend::Cpu(CpuBackend::new()),
                format!("CPU (lowp-backend); WebGPU unavailable: {error}"),
            ),
        };
        #[cfg(not(target_arch = "wasm32"))]
        let detected = (
            ComputeBackend::Cpu(CpuBackend::new()),
            "CPU (lowp-backend)".to_string(),
        );
        detected
    }

    /// Short name: `wgpu` or `cpu`.
    pub fn name(&self) -> &'static str {
        match self {
            ComputeBackend::Cpu(backend) => backend.name(),
            #[cfg(target_arch = "wasm32")]
            ComputeBackend::Wgpu(backend) => backend.name(),
        }
    }

    /// Quantizes a row-major tensor of `shape` with `quantizer` on the device.
    pub async fn quantize(
        &self,
        data: &[f32],
        shape: &[usize],
        quantizer: &Quantizer,
    ) -> Result<Vec<f32>, String> {
        match self {
            ComputeBackend::Cpu(backend) => run(backend, data, shape, quantizer).await,
            #[cfg(target_arch = "wasm32")]
            ComputeBackend::Wgpu(backend) => run(backend.as_ref(), data, shape, quantizer).await,
        }
    }
}

async fn run<B: Backend>(
    backend: &B,
    data: &[f32],
    shape: &[usize],
    quantizer: &Quantizer,
) -> Result<Vec<f32>, String> {
    let input = backend.upload(data).map_err(|e| e.to_string())?;
    let output = backend
        .quantize(&input, shape, quantizer)
        .map_err(|e| e.to_string())?;
    backend.download(&output).await.map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run_now;

    #[test]
    fn the_native_build_quantizes_on_the_cpu_like_the_scalar_reference() {
        let (backend, text) = run_now(ComputeBackend::detect());
        assert_eq!(backend.name(), "cpu");
        assert!(text.starts_with("CPU"));
        let quantizer = Quantizer::nearest("e4m3".parse().unwrap());
        let data = [1.0625, 1000.0, -0.3, 3.0e-3];
        let out = run_now(backend.quantize(&data, &[4], &quantizer)).unwrap();
        assert_eq!(out, quantizer.quantize_slice(&data, &[4]).unwrap());
    }
}
