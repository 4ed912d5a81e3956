import { useEffect, useMemo, useRef, useState } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { useUi } from '../context';
import { findPlots, type PlotSeries } from '../lib/plots';

const HEIGHT = 160;

function toData(p: PlotSeries): uPlot.AlignedData {
  return [p.x, p.y.map((v) => (Number.isFinite(v) ? v : null))];
}

/** One auto-scaled uPlot chart, created once and fed new data. */
function Plot({ plot }: { plot: PlotSeries }) {
  const host = useRef<HTMLDivElement>(null);
  const chart = useRef<uPlot | null>(null);
  useEffect(() => {
    const el = host.current;
    if (!el) return;
    const u = new uPlot(
      {
        width: Math.max(200, el.clientWidth),
        height: HEIGHT,
        scales: { x: { time: false } },
        legend: { show: true, live: true },
        cursor: { drag: { x: false, y: false } },
        axes: [
          { label: plot.xLabel, stroke: '#8a96a8', grid: { stroke: '#2a3140' } },
          { label: plot.yLabel, stroke: '#8a96a8', grid: { stroke: '#2a3140' } },
        ],
        series: [{ label: plot.xLabel }, { label: plot.key, stroke: plot.kind === 'spectrum' ? '#63b3ed' : '#68d391', width: 1.5, points: { show: false } }],
      },
      toData(plot),
      el,
    );
    chart.current = u;
    const ro = new ResizeObserver(() => u.setSize({ width: Math.max(200, el.clientWidth), height: HEIGHT }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      u.destroy();
      chart.current = null;
    };
    // Rebuilt only when the axes change; data goes through setData below.
  }, [plot.key, plot.kind, plot.xLabel, plot.yLabel]);
  useEffect(() => {
    chart.current?.setData(toData(plot), true);
  }, [plot]);
  return <div ref={host} className="plot" data-testid={`plot-${plot.key}`} />;
}

/** A plot for every `spectrum` / `time_series` result, with a pause. */
export function PlotsPanel() {
  const ui = useUi();
  const [paused, setPaused] = useState(false);
  const live = useMemo(() => findPlots(ui.snapshot?.results ?? {}), [ui.snapshot]);
  const [frozen, setFrozen] = useState<PlotSeries[]>([]);
  const plots = paused ? frozen : live;
  if (live.length === 0 && plots.length === 0) return null;
  return (
    <div className="card plots" data-testid="plots">
      <h2>
        Plots
        <button
          type="button"
          data-testid="btn-plots-pause"
          aria-pressed={paused}
          onClick={() => {
            if (!paused) setFrozen(live);
            setPaused(!paused);
          }}
        >
          {paused ? '▶ Resume' : '❚❚ Pause'}
        </button>
      </h2>
      {plots.map((p) => (
        <div key={p.key} className="plot-wrap">
          <div className="tile-label">
            {p.key} <span className="muted">{p.note}</span>
          </div>
          <Plot plot={p} />
        </div>
      ))}
    </div>
  );
}
