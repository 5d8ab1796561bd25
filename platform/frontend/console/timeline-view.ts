/** Draws an execution's timeline (timeline.ts) as SVG: a row per invocation, coloured by temperature. */
import { h, ms, s } from './dom.js';
import { PHASES, type Timeline, type TimelineBar } from './timeline.js';

const LABEL = 150;
const CHART = 600;
const TAG = 170;
const ROW = 30;
const AXIS = 22;

export const TEMPERATURE_LABEL: Readonly<Record<string, string>> = {
  'cold-sandbox': 'cold sandbox',
  'cold-worker': 'cold worker',
  warm: 'warm',
  unknown: 'unknown',
};

/** `onFailed` is called with a failed bar when it is activated (click, Enter): the page jumps to its error. */
export function timelineView(timeline: Timeline, onFailed: (bar: TimelineBar) => void): HTMLElement {
  const span = Math.max(timeline.spanMs, 1e-3);
  const x = (t: number): number => LABEL + (t / span) * CHART;
  const height = AXIS + timeline.bars.length * ROW;
  const svg = s('svg', { class: 'timeline', viewBox: `0 0 ${LABEL + CHART + TAG} ${height}`, role: 'list', 'aria-label': 'Invocations on a timeline' });
  for (let i = 0; i <= 4; i++) {
    const t = (span * i) / 4;
    svg.append(s('line', { x1: x(t), x2: x(t), y1: AXIS - 4, y2: height, class: 'tick' }), s('text', { x: x(t), y: 12, 'text-anchor': i === 0 ? 'start' : i === 4 ? 'end' : 'middle', class: 'axis' }, i === 0 ? '0' : ms(t)));
  }
  timeline.bars.forEach((bar, i) => {
    const y = AXIS + i * ROW;
    const phases = bar.segments.map((seg) => `${seg.phase} ${ms(seg.end - seg.start)}`).join(', ');
    const tip = `${bar.label} (${bar.function}): ${TEMPERATURE_LABEL[bar.temperature]}\nsandbox ${bar.sandboxId}, worker pid ${bar.workerPid}\n${phases}${bar.error ? `\nfailed: ${bar.error}` : ''}`;
    const g = s('g', { class: `bar temp-${bar.temperature}${bar.failed ? ' failed' : ''}`, role: 'listitem', tabindex: 0, 'data-temperature': bar.temperature, 'data-state': bar.state ?? '', 'aria-label': tip.replace(/\n/g, '; ') }, s('title', {}, tip));
    g.append(s('text', { x: LABEL - 8, y: y + ROW / 2 + 4, 'text-anchor': 'end', class: 'label' }, bar.label.length > 20 ? `${bar.label.slice(0, 19)}…` : bar.label));
    for (const seg of bar.segments) {
      const w = Math.max(x(seg.end) - x(seg.start), seg.phase === 'handler' ? 2 : 0);
      if (w > 0) g.append(s('rect', { x: x(seg.start), y: y + 6, width: w, height: ROW - 12, class: `seg seg-${seg.phase}` }));
    }
    g.append(s('text', { x: LABEL + CHART + 8, y: y + ROW / 2 + 4, class: 'tag' }, `${bar.failed ? '✖ ' : ''}${TEMPERATURE_LABEL[bar.temperature]} · ${ms(bar.end - bar.start)}`));
    if (bar.failed) {
      const go = (): void => onFailed(bar);
      g.addEventListener('click', go);
      g.addEventListener('keydown', (e) => {
        if ((e as KeyboardEvent).key === 'Enter') go();
      });
    }
    svg.append(g);
  });
  const legend = h('p', { class: 'legend' },
    ...['cold-sandbox', 'cold-worker', 'warm'].map((t) => h('span', { class: `chip temp-${t}` }, TEMPERATURE_LABEL[t])),
    h('span', { class: 'phases' }, `phases, light to dark: ${PHASES.join(' → ')}`));
  return h('div', { class: 'timeline-box' }, svg, legend);
}
