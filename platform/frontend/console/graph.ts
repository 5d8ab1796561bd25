/**
 * The state machine as a graph, and a layered layout of it: pure functions, no DOM (graph-view.ts draws them).
 * The graph is read from the definition as written, so that it can be drawn while the definition is still being
 * typed and does not validate: whatever cannot be read is left out, never thrown.
 */

export type NodeKind = 'start' | 'end' | 'state';
export type EdgeKind = 'next' | 'choice' | 'default' | 'catch' | 'branch' | 'iterator' | 'join';

export interface GraphNode {
  /** Unique in the graph: a top-level state's name, or its container's id, "/", the branch index and the name. */
  id: string;
  /** The state's name as the definition and the history call it. */
  name: string;
  kind: NodeKind;
  /** The ASL Type ('Task', 'Choice', ...); empty for start and end. */
  type: string;
}

export interface GraphEdge {
  from: string;
  to: string;
  kind: EdgeKind;
}

export interface StateGraph {
  nodes: GraphNode[];
  edges: GraphEdge[];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

export const START = '(start)';
export const END = '(end)';

/**
 * Start -> StartAt, every transition (Next, Choice rules and Default, Catch), and -> End from each terminal state.
 * A Parallel's branches and a Map's iterator are drawn inline: an edge into each branch's StartAt, and from each
 * branch's terminal states on to the state that follows the Parallel or Map.
 */
export function stateGraph(definition: unknown): StateGraph {
  const graph: StateGraph = { nodes: [{ id: START, name: 'Start', kind: 'start', type: '' }], edges: [] };
  const ids = new Set<string>([START]);
  const entry = machine(definition, '', graph, ids);
  if (entry.start !== null) graph.edges.push({ from: START, to: entry.start, kind: 'next' });
  graph.nodes.push({ id: END, name: 'End', kind: 'end', type: '' });
  for (const id of entry.terminals) graph.edges.push({ from: id, to: END, kind: 'next' });
  return graph;
}

/** Adds one (sub-)machine's states; answers the id of its start state and of its terminal states. */
function machine(def: unknown, prefix: string, graph: StateGraph, ids: Set<string>): { start: string | null; terminals: string[] } {
  if (!isObj(def) || !isObj(def.States)) return { start: null, terminals: [] };
  const states = def.States;
  const idOf = (name: string): string => prefix + name;
  const known = (name: string | null): name is string => name !== null && Object.hasOwn(states, name);
  const terminals: string[] = [];
  for (const [name, state] of Object.entries(states)) {
    const id = idOf(name);
    if (ids.has(id)) continue;
    ids.add(id);
    graph.nodes.push({ id, name, kind: 'state', type: isObj(state) ? (str(state.Type) ?? '?') : '?' });
  }
  for (const [name, state] of Object.entries(states)) {
    if (!isObj(state)) continue;
    const id = idOf(name);
    const to = (target: unknown, kind: EdgeKind): void => {
      const t = str(target);
      if (known(t)) graph.edges.push({ from: id, to: idOf(t), kind });
    };
    const next = str(state.Next);
    const ends = state.End === true || state.Type === 'Succeed' || state.Type === 'Fail';
    // Where a branch's terminal states lead: the state after the container, or the end of this machine.
    const after: string | null = known(next) ? idOf(next) : null;
    const inner = (sub: unknown, subPrefix: string, kind: EdgeKind): void => {
      const m = machine(sub, subPrefix, graph, ids);
      if (m.start !== null) graph.edges.push({ from: id, to: m.start, kind });
      for (const t of m.terminals) {
        if (after !== null) graph.edges.push({ from: t, to: after, kind: 'join' });
        else if (ends) terminals.push(t);
      }
    };
    if (state.Type === 'Parallel' && Array.isArray(state.Branches)) {
      state.Branches.forEach((branch, i) => inner(branch, `${id}/${i}/`, 'branch'));
    }
    if (state.Type === 'Map') inner(state.ItemProcessor ?? state.Iterator, `${id}/`, 'iterator');
    if (state.Type === 'Choice' && Array.isArray(state.Choices)) {
      for (const rule of state.Choices) if (isObj(rule)) to(rule.Next, 'choice');
      to(state.Default, 'default');
    }
    if (Array.isArray(state.Catch)) for (const c of state.Catch) if (isObj(c)) to(c.Next, 'catch');
    to(next, 'next');
    // A Parallel or Map with branches ends through them; without any, it ends itself.
    const hasInner = graph.edges.some((e) => e.from === id && (e.kind === 'branch' || e.kind === 'iterator'));
    if (ends && !(hasInner && (state.Type === 'Parallel' || state.Type === 'Map'))) terminals.push(id);
  }
  const startAt = str(def.StartAt);
  return { start: known(startAt) ? idOf(startAt) : null, terminals };
}

export interface PlacedNode extends GraphNode {
  /** Centre, in layout units. */
  x: number;
  y: number;
  rank: number;
}

export interface GraphLayout {
  nodes: PlacedNode[];
  edges: GraphEdge[];
  width: number;
  height: number;
}

export const NODE_WIDTH = 150;
export const NODE_HEIGHT = 34;
const GAP_X = 24;
const GAP_Y = 34;

/**
 * A layered layout, top to bottom: a node's rank is the longest path to it from Start over the graph without its
 * back edges (loops such as a retry through a Choice), nodes of a rank side by side in the order they were met,
 * every rank centred. End always sits alone on the last rank. Nodes Start cannot reach go on after it.
 */
export function layoutGraph(graph: StateGraph): GraphLayout {
  const out = new Map<string, GraphEdge[]>();
  for (const n of graph.nodes) out.set(n.id, []);
  for (const e of graph.edges) out.get(e.from)?.push(e);

  // Depth-first from Start (then from any node not reached) to find the back edges.
  const order: string[] = [];
  const back = new Set<GraphEdge>();
  const state = new Map<string, 'open' | 'done'>();
  const visit = (id: string): void => {
    state.set(id, 'open');
    order.push(id);
    for (const e of out.get(id) ?? []) {
      const s = state.get(e.to);
      if (s === 'open') back.add(e);
      else if (s === undefined) visit(e.to);
    }
    state.set(id, 'done');
  };
  for (const n of graph.nodes) if (!state.has(n.id) && n.kind !== 'end') visit(n.id);
  if (!state.has(END)) order.push(END);

  // Longest path over the forward edges, in a topological order of them (Kahn).
  const indegree = new Map<string, number>(graph.nodes.map((n) => [n.id, 0]));
  const forward = graph.edges.filter((e) => !back.has(e));
  for (const e of forward) indegree.set(e.to, (indegree.get(e.to) ?? 0) + 1);
  const rank = new Map<string, number>(graph.nodes.map((n) => [n.id, 0]));
  const ready = order.filter((id) => indegree.get(id) === 0);
  while (ready.length > 0) {
    const id = ready.shift()!;
    for (const e of out.get(id) ?? []) {
      if (back.has(e)) continue;
      rank.set(e.to, Math.max(rank.get(e.to) ?? 0, (rank.get(id) ?? 0) + 1));
      const left = (indegree.get(e.to) ?? 0) - 1;
      indegree.set(e.to, left);
      if (left === 0) ready.push(e.to);
    }
  }
  const others = graph.nodes.filter((n) => n.kind !== 'end').map((n) => rank.get(n.id) ?? 0);
  rank.set(END, Math.max(0, ...others) + 1);

  const byRank: string[][] = [];
  for (const id of order) (byRank[rank.get(id) ?? 0] ??= []).push(id);
  const widest = Math.max(1, ...byRank.map((r) => r?.length ?? 0));
  const width = widest * NODE_WIDTH + (widest - 1) * GAP_X;
  const nodeById = new Map(graph.nodes.map((n) => [n.id, n]));
  const nodes: PlacedNode[] = [];
  byRank.forEach((ids = [], r) => {
    const rowWidth = ids.length * NODE_WIDTH + (ids.length - 1) * GAP_X;
    ids.forEach((id, i) => {
      const node = nodeById.get(id)!;
      nodes.push({ ...node, rank: r, x: (width - rowWidth) / 2 + i * (NODE_WIDTH + GAP_X) + NODE_WIDTH / 2, y: r * (NODE_HEIGHT + GAP_Y) + NODE_HEIGHT / 2 });
    });
  });
  return { nodes, edges: graph.edges, width, height: byRank.length * (NODE_HEIGHT + GAP_Y) - GAP_Y };
}
