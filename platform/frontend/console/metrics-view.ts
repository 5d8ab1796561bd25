/** A small SVG line chart of one series over time, for the live metrics page. */
import { s } from './dom.js';

const W = 360;
const H = 120;
const PAD = { left: 44, right: 8, top: 10, bottom: 18 };

export function lineChart(title: string, points: ReadonlyArray<{ at: number; value: number | null }>, format: (v: number) => string, floor = 1): SVGSVGElement {
  const values = points.map((p) => p.value).filter((v): v is number => v !== null);
  // An idle series still gets a readable axis: at least 1 (per second) or 1 ms.
  const max = Math.max(floor, ...values) * 1.1;
  const t0 = points[0]?.at ?? 0;
  const span = Math.max(1, (points.at(-1)?.at ?? 0) - t0);
  const x = (at: number): number => PAD.left + ((at - t0) / span) * (W - PAD.left - PAD.right);
  const y = (v: number): number => H - PAD.bottom - (v / max) * (H - PAD.top - PAD.bottom);
  const last = values.at(-1);
  const svg = s('svg', { class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': `${title}: ${last === undefined ? 'no data yet' : format(last)}` },
    s('title', {}, title),
    s('line', { x1: PAD.left, x2: W - PAD.right, y1: H - PAD.bottom, y2: H - PAD.bottom, class: 'tick' }),
    s('text', { x: PAD.left - 4, y: PAD.top + 8, 'text-anchor': 'end', class: 'axis' }, format(max)),
    s('text', { x: PAD.left - 4, y: H - PAD.bottom, 'text-anchor': 'end', class: 'axis' }, '0'),
    s('text', { x: W - PAD.right, y: H - 4, 'text-anchor': 'end', class: 'axis' }, `last ${Math.round(span / 1000)} s`));
  let d = '';
  for (const p of points) {
    if (p.value === null) continue;
    d += `${d === '' ? 'M' : 'L'}${x(p.at).toFixed(1)},${y(p.value).toFixed(1)} `;
  }
  if (d !== '') svg.append(s('path', { d, class: 'series' }));
  return svg;
}
