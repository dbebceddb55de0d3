//! The floor under `actor_memory`: what one *empty* actix actor costs, kept the
//! way the card runtime keeps its actors (started on one of two arbiters, its
//! address and a last-used clock in a `DashMap` keyed by a 16-byte id). The
//! difference between this and `actor_memory` is what the card state and the
//! card actor's own fields add; this part no card actor can go below while each
//! card is an actix actor.
//!
//! `cargo run --release -p stampede-actors --example actix_floor -- 1000000`

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use actix::prelude::*;
use dashmap::DashMap;
use uuid::Uuid;

fn heap_kib() -> u64 {
    stampede_actors::memory::heap_in_use().map(|b| b as u64 / 1024).unwrap_or(0)
}

fn rss_kib() -> u64 {
    stampede_actors::memory::resident_kib()
}

struct Empty;

impl Actor for Empty {
    type Context = Context<Self>;
}

#[derive(Message)]
#[rtype(result = "()")]
struct Stop;

impl Handler<Stop> for Empty {
    type Result = ();
    fn handle(&mut self, _: Stop, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}

fn main() {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    // As the card runtime does when it starts.
    stampede_actors::memory::fix_allocator_thresholds();
    let sys = System::new();
    let arbiters: Vec<Arbiter> = (0..2).map(|_| Arbiter::new()).collect();
    let handles: Vec<ArbiterHandle> = arbiters.iter().map(|a| a.handle()).collect();
    sys.block_on(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let registry: DashMap<Uuid, (Addr<Empty>, Arc<AtomicU64>)> = DashMap::new();
        let (before, heap_before) = (rss_kib(), heap_kib());
        for i in 0..n {
            let addr = Empty::start_in_arbiter(&handles[i % handles.len()], |_| Empty);
            registry.insert(Uuid::now_v7(), (addr, Arc::new(AtomicU64::new(0))));
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
        let (active, heap_active) = (rss_kib(), heap_kib());
        println!(
            "{n} empty actix actors: RSS {before} → {active} KiB, {:.0} bytes per actor (heap in use {:.0})",
            (active.saturating_sub(before) * 1024) as f64 / n as f64,
            (heap_active.saturating_sub(heap_before) * 1024) as f64 / n as f64
        );
        for e in registry.iter() {
            e.value().0.do_send(Stop);
        }
        registry.clear();
        registry.shrink_to_fit();
        tokio::time::sleep(Duration::from_secs(2)).await;
        stampede_actors::memory::release_free_memory();
        let after = rss_kib();
        println!(
            "after stopping them: RSS {after} KiB ({:+.1}% of the RSS before)",
            (after as f64 / before as f64 - 1.0) * 100.0
        );
    });
    drop(arbiters);
}
