//! Criterion bench of the CPU quantize kernels: the scalar reference against the fast path on
//! one thread and on all threads (`cargo bench --bench quantize`).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use lowp::backend::{Backend, CpuBackend};
use lowp::bench::{QUANTIZE_BENCH_FORMATS, bench_input};
use lowp::formats::{Format, Quantizer, Rounding};
use std::hint::black_box;

const N: usize = 1 << 20;

fn quantize(c: &mut Criterion) {
    let data = bench_input(N);
    let threads = std::thread::available_parallelism().map_or(1, |p| p.get());
    let backends = [
        ("scalar", CpuBackend::scalar()),
        ("fast-1t", CpuBackend::with_threads(1)),
        ("fast-all", CpuBackend::with_threads(threads)),
    ];
    let mut group = c.benchmark_group("quantize");
    group.throughput(Throughput::Elements(N as u64));
    group.sample_size(20);
    for spec in QUANTIZE_BENCH_FORMATS {
        let format: Format = spec.parse().expect("bench format");
        for rounding in [
            Rounding::Nearest,
            Rounding::Stochastic {
                bits: format.default_stochastic_bits(),
            },
        ] {
            let quantizer = Quantizer::new(format, rounding, 1).expect("bench quantizer");
            for (name, backend) in &backends {
                let input = backend.upload(&data).expect("upload");
                group.bench_function(format!("{spec}/{}/{name}", rounding.name()), |b| {
                    b.iter(|| {
                        backend
                            .quantize(black_box(&input), &[N], &quantizer)
                            .expect("quantize")
                    })
                });
            }
        }
    }
    group.finish();
}

criterion_group!(benches, quantize);
criterion_main!(benches);
