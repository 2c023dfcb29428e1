//! Criterion bench of the CPU quantized GEMM fast path (`cargo bench --bench qgemm`): the
//! configurations of `lowp::bench::QGEMM_BENCH_CONFIGS` and the plain binary32 matmul loop at
//! 256³ on one thread and on all threads, and e4m3 × fp16 at 512³ on all threads. Throughput is
//! in multiply-accumulates.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use lowp::backend::{Backend, CpuBackend};
use lowp::bench::{QGEMM_BENCH_CONFIGS, QgemmBenchConfig, gemm_bench_input, matmul_f32};
use std::hint::black_box;

/// (size, threads, Some(configuration) or None for the plain binary32 matmul).
type Run = (usize, usize, Option<QgemmBenchConfig>);

fn qgemm(c: &mut Criterion) {
    let all = std::thread::available_parallelism().map_or(1, |p| p.get());
    let mut group = c.benchmark_group("qgemm");
    group.sample_size(10);
    let mut runs: Vec<Run> = Vec::new();
    for threads in [1, all] {
        for config in QGEMM_BENCH_CONFIGS {
            runs.push((256, threads, Some(config)));
        }
        runs.push((256, threads, None));
    }
    runs.push((512, all, Some(QGEMM_BENCH_CONFIGS[0])));
    for (size, threads, config) in runs {
        let a = gemm_bench_input(size * size, 1);
        let b = gemm_bench_input(size * size, 2);
        group.throughput(Throughput::Elements((size * size * size) as u64));
        match config {
            Some(config) => {
                let backend = CpuBackend::with_threads(threads);
                let spec = config.spec(size).expect("bench spec");
                let (a, b) = (
                    backend.upload(&a).expect("upload"),
                    backend.upload(&b).expect("upload"),
                );
                let (mul, add) = (config.mul, config.add);
                let mode = config.mode().replace(' ', "-");
                group.bench_function(format!("{mul}-{add}/{mode}/{size}/{threads}t"), |bench| {
                    bench.iter(|| backend.qgemm(black_box(&a), &b, &spec).expect("qgemm"))
                });
            }
            None => {
                group.bench_function(format!("matmul_f32/{size}/{threads}t"), |bench| {
                    bench.iter(|| matmul_f32(black_box(&a), &b, size, size, size, threads))
                });
            }
        }
    }
    group.finish();
}

criterion_group!(benches, qgemm);
criterion_main!(benches);
