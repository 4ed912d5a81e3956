//! Billiards physics: the event-based engine of `framebus-billiards` on the reference shots
//! (a cue ball around the table, a 9-ball break), and the `trajectory` stage's prediction
//! when the aim changes every frame. Reported: median time per shot on one core, beside the
//! issue's budget (0.5 ms and 5 ms). pooltool's figures for the same shots come from
//! `bench/pooltool_compare.sh` (it is Python and needs a venv, so it is not run here).

use std::hint::black_box;
use std::time::Instant;

use framebus_billiards::shots::{nine_ball_break, three_cushion};
use framebus_billiards::{Ball, Cue, Params, Simulator, Table};

use super::{Row, Scale, quantile};

fn time_shot(sim: &mut Simulator, balls: &[Ball], cue: &Cue, iters: usize) -> (f64, usize) {
    sim.run(balls, Some(cue));
    let events = sim.result().events.len();
    let mut ns = Vec::with_capacity(iters);
    for _ in 0..iters {
        let t0 = Instant::now();
        black_box(sim.run(black_box(balls), Some(cue)));
        ns.push(t0.elapsed().as_nanos() as u64);
    }
    (quantile(&mut ns, 0.5) as f64 / 1000.0, events)
}

/// Runs the billiards benchmark.
pub(crate) fn run(scale: Scale) -> anyhow::Result<Vec<Row>> {
    let p = Params::default();
    let table = Table::default();
    let mut sim = Simulator::new(table.clone(), p);
    let iters = scale.pick(200, 2000);
    let mut rows = Vec::new();

    let (balls, cue) = three_cushion(&p);
    let (us, events) = time_shot(&mut sim, &balls, &cue, iters);
    rows.push(
        Row::new(
            "billiards",
            format!("3-cushion shot ({events} events)"),
            us,
            "µs",
        )
        .vs("budget", 500.0),
    );

    let (balls, cue) = nine_ball_break(&table, &p);
    let (us, events) = time_shot(&mut sim, &balls, &cue, iters / 4);
    rows.push(
        Row::new(
            "billiards",
            format!("9-ball break ({events} events)"),
            us,
            "µs",
        )
        .vs("budget", 5000.0),
    );

    // A prediction per frame while the player turns the cue: a new aim every time.
    let (balls, mut cue) = nine_ball_break(&table, &p);
    cue.v0 = 3.0;
    let mut ns = Vec::with_capacity(iters);
    for k in 0..iters {
        cue.phi = 60.0 + (k % 60) as f64;
        let t0 = Instant::now();
        black_box(sim.run(&balls, Some(&cue)));
        ns.push(t0.elapsed().as_nanos() as u64);
    }
    rows.push(
        Row::new(
            "billiards",
            "prediction, 10 balls, aim swept 60° (p95)",
            quantile(&mut ns, 0.95) as f64 / 1000.0,
            "µs",
        )
        .vs("frame at 60 fps", 16_667.0),
    );
    Ok(rows)
}
