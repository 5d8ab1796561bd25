/** Draws a state graph's layout (graph.ts) as SVG: visited states, the failed state and states with problems marked. */
import { s } from './dom.js';
import { NODE_HEIGHT, NODE_WIDTH, type GraphLayout, type PlacedNode } from './graph.js';

export interface GraphMarks {
  /** Names of the states the execution went through. */
  visited?: ReadonlySet<string>;
  /** The state an execution failed in. */
  failed?: string | null;
  /** Problems by state name (validation). */
  problems?: ReadonlyMap<string, string[]>;
}

const PAD = 12;

export function graphView(layout: GraphLayout, marks: GraphMarks = {}, title = 'State machine'): SVGSVGElement {
  const width = layout.width + 2 * PAD;
  const height = layout.height + 2 * PAD;
  const svg = s('svg', { class: 'graph', viewBox: `${-PAD} ${-PAD} ${width} ${height}`, width, role: 'img', 'aria-label': title },
    s('defs', {}, s('marker', { id: 'arrow', viewBox: '0 0 8 8', refX: 8, refY: 4, markerWidth: 8, markerHeight: 8, markerUnits: 'userSpaceOnUse', orient: 'auto-start-reverse' }, s('path', { d: 'M0,0 L8,4 L0,8 z', class: 'arrowhead' }))),
    s('title', {}, title));
  const at = new Map(layout.nodes.map((n) => [n.id, n]));
  for (const e of layout.edges) {
    const a = at.get(e.from);
    const b = at.get(e.to);
    if (!a || !b) continue;
    const down = b.rank > a.rank;
    const y1 = down ? a.y + NODE_HEIGHT / 2 : a.y;
    const y2 = down ? b.y - NODE_HEIGHT / 2 : b.y;
    const x1 = down ? a.x : a.x + NODE_WIDTH / 2;
    const x2 = down ? b.x : b.x + NODE_WIDTH / 2;
    // A back edge (a loop) bends out to the right so that it does not cross the states it skips.
    const d = down ? `M${x1},${y1} C${x1},${(y1 + y2) / 2} ${x2},${(y1 + y2) / 2} ${x2},${y2}` : `M${x1},${y1} C${x1 + 60},${y1} ${x2 + 60},${y2} ${x2},${y2}`;
    const walked = marks.visited?.has(a.name) && (marks.visited.has(b.name) || b.kind === 'end');
    svg.append(s('path', { d, class: `edge edge-${e.kind}${walked ? ' walked' : ''}`, 'marker-end': 'url(#arrow)' }));
  }
  for (const n of layout.nodes) svg.append(nodeView(n, marks));
  return svg;
}

function nodeView(n: PlacedNode, marks: GraphMarks): SVGGElement {
  const problems = marks.problems?.get(n.name) ?? [];
  const classes = ['node', `node-${n.kind}`, n.type && `type-${n.type.toLowerCase()}`];
  if (n.kind === 'state' && marks.visited?.has(n.name)) classes.push('visited');
  if (n.kind === 'state' && marks.failed === n.name) classes.push('failed');
  if (n.kind === 'state' && problems.length > 0) classes.push('invalid');
  const tip = [n.kind === 'state' ? `${n.name} (${n.type})` : n.name, ...problems].join('\n');
  const g = s('g', { class: classes.filter(Boolean).join(' '), 'data-state': n.kind === 'state' ? n.name : null, transform: `translate(${n.x - NODE_WIDTH / 2},${n.y - NODE_HEIGHT / 2})` }, s('title', {}, tip));
  const round = n.kind === 'state' ? 6 : NODE_HEIGHT / 2;
  g.append(s('rect', { width: NODE_WIDTH, height: NODE_HEIGHT, rx: round }));
  const label = n.name.length > 20 ? `${n.name.slice(0, 19)}…` : n.name;
  g.append(s('text', { x: NODE_WIDTH / 2, y: n.kind === 'state' ? 15 : NODE_HEIGHT / 2 + 4, 'text-anchor': 'middle', class: 'name' }, label));
  if (n.kind === 'state') g.append(s('text', { x: NODE_WIDTH / 2, y: 28, 'text-anchor': 'middle', class: 'type' }, problems.length ? `${n.type} · ${problems.length} problem${problems.length > 1 ? 's' : ''}` : n.type));
  return g;
}
