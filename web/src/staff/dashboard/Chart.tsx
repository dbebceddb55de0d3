// A daily time series drawn by uPlot (canvas; small and fast). The canvas is
// one image to a screen reader, so it carries a label and the dashboard
// keeps the same figures in a table.
import { useEffect, useRef } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

export interface Line {
  label: string;
  values: number[];
  colour: string;
}

const utc = (ts: number) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC");

export function Chart({ title, days, lines }: { title: string; days: string[]; lines: Line[] }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const x = days.map((d) => Date.parse(`${d}T00:00:00Z`) / 1000);
    const opts: uPlot.Options = {
      width: Math.max(el.clientWidth, 280),
      height: 220,
      tzDate: utc,
      scales: { y: { range: (_u, _min, max) => [0, Math.max(max, 1)] } },
      series: [
        {},
        ...lines.map((l) => ({ label: l.label, stroke: l.colour, width: 2, points: { show: days.length <= 45 } })),
      ],
      axes: [{}, { size: 48 }],
    };
    const plot = new uPlot(opts, [x, ...lines.map((l) => l.values)], el);
    const resize = new ResizeObserver(() => plot.setSize({ width: Math.max(el.clientWidth, 280), height: 220 }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [days, lines]);
  const summary = lines.map((l) => `${l.label} ${l.values.reduce((a, b) => a + b, 0)}`).join(", ");
  return (
    <figure className="chart">
      <figcaption>{title}</figcaption>
      <div ref={box} role="img" aria-label={`${title}, ${days[0]} to ${days[days.length - 1]}: ${summary}`} />
    </figure>
  );
}
