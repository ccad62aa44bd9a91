//! S1 codec micro-benchmarks: the framework's encode/decode against the
//! equivalent hand-written redis-rs / serde code, in the same benchmark group so
//! they run back to back (`cargo bench -p redis-bench`). The runner
//! (`cargo run --release -p redis-bench`) reads the medians back from
//! `target/criterion/<group>/<function>/new/estimates.json`.
//!
//! - `<model>_encode`: key + value + RESP packing of one full save
//!   (hash: `MULTI DEL HSET PEXPIRE EXEC`; strings: `SET k v PX ms`).
//! - `<model>_decode`: the reply value of a read decoded into the model.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use redis_bench::codec::{fw_decode, fw_save_bytes, hw_decode, hw_save_bytes, stored_reply};
use redis_bench::handwritten::BenchModel;
use redis_bench::models::{Account, User, UserJson, UserMsgpack};

fn model<M: BenchModel>(c: &mut Criterion, slug: &str) {
    let m = M::sample(12_345);
    assert_eq!(
        fw_save_bytes(&m),
        hw_save_bytes(&m),
        "both sides pack the same bytes"
    );
    let reply = stored_reply(&m);
    assert_eq!(fw_decode::<M>(reply.clone()), m);
    assert_eq!(hw_decode::<M>(reply.clone()), m);

    let mut group = c.benchmark_group(format!("{slug}_encode"));
    group.bench_function("framework", |b| b.iter(|| fw_save_bytes(black_box(&m))));
    group.bench_function("handwritten", |b| b.iter(|| hw_save_bytes(black_box(&m))));
    group.finish();

    let mut group = c.benchmark_group(format!("{slug}_decode"));
    group.bench_function("framework", |b| {
        b.iter_batched(
            || reply.clone(),
            |v| fw_decode::<M>(black_box(v)),
            BatchSize::SmallInput,
        )
    });
    group.bench_function("handwritten", |b| {
        b.iter_batched(
            || reply.clone(),
            |v| hw_decode::<M>(black_box(v)),
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

fn codec(c: &mut Criterion) {
    model::<User>(c, "m8_hash");
    model::<Account>(c, "m32_hash");
    model::<UserJson>(c, "m8_json");
    model::<UserMsgpack>(c, "m8_msgpack");
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(60);
    targets = codec
}
criterion_main!(benches);
