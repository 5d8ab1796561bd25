import { describe, expect, it } from 'vitest';
import { END, layoutGraph, START, stateGraph, type GraphLayout } from './graph.js';

const rankOf = (layout: GraphLayout, id: string): number => layout.nodes.find((n) => n.id === id)!.rank;
/** The edges as text, sorted: their order carries no meaning. */
const edges = (def: unknown): string[] => stateGraph(def).edges.map((e) => `${e.from} -${e.kind}-> ${e.to}`).sort();
const sorted = (list: string[]): string[] => [...list].sort();

describe('stateGraph', () => {
  it('a chain: Start, each Next, End', () => {
    const def = { StartAt: 'A', States: { A: { Type: 'Task', Resource: 'f', Next: 'B' }, B: { Type: 'Pass', Next: 'C' }, C: { Type: 'Succeed' } } };
    expect(edges(def)).toEqual(sorted([`${START} -next-> A`, 'A -next-> B', 'B -next-> C', `C -next-> ${END}`]));
    expect(stateGraph(def).nodes.map((n) => [n.id, n.type])).toEqual([[START, ''], ['A', 'Task'], ['B', 'Pass'], ['C', 'Succeed'], [END, '']]);
  });

  it('a Choice: each rule, the Default, and a Catch', () => {
    const def = {
      StartAt: 'Pick',
      States: {
        Pick: { Type: 'Choice', Choices: [{ Variable: '$.x', NumericEquals: 1, Next: 'One' }, { Variable: '$.x', NumericEquals: 2, Next: 'Two' }], Default: 'Other' },
        One: { Type: 'Task', Resource: 'f', End: true, Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Other' }] },
        Two: { Type: 'Succeed' },
        Other: { Type: 'Fail', Error: 'E' },
      },
    };
    expect(edges(def)).toEqual(sorted([
      `${START} -next-> Pick`,
      'Pick -choice-> One', 'Pick -choice-> Two', 'Pick -default-> Other',
      'One -catch-> Other',
      `One -next-> ${END}`, `Two -next-> ${END}`, `Other -next-> ${END}`,
    ]));
  });

  it('a Parallel: into each branch, and from each branch on to the next state', () => {
    const def = {
      StartAt: 'P',
      States: {
        P: { Type: 'Parallel', Next: 'After', Branches: [
          { StartAt: 'X', States: { X: { Type: 'Task', Resource: 'f', End: true } } },
          { StartAt: 'X', States: { X: { Type: 'Pass', Next: 'Y' }, Y: { Type: 'Pass', End: true } } },
        ] },
        After: { Type: 'Succeed' },
      },
    };
    expect(edges(def)).toEqual(sorted([
      `${START} -next-> P`,
      'P -branch-> P/0/X', 'P/0/X -join-> After',
      'P/1/X -next-> P/1/Y', 'P -branch-> P/1/X', 'P/1/Y -join-> After',
      'P -next-> After',
      `After -next-> ${END}`,
    ]));
    // The same state name in two branches is two nodes.
    expect(stateGraph(def).nodes.filter((n) => n.name === 'X').map((n) => n.id)).toEqual(['P/0/X', 'P/1/X']);
  });

  it('a Map that ends the machine: its iterator leads to End', () => {
    const def = { StartAt: 'M', States: { M: { Type: 'Map', End: true, ItemProcessor: { StartAt: 'Each', States: { Each: { Type: 'Task', Resource: 'f', End: true } } } } } };
    expect(edges(def)).toEqual(sorted([`${START} -next-> M`, 'M -iterator-> M/Each', `M/Each -next-> ${END}`]));
  });

  it('whatever cannot be read is left out, never thrown (the editor draws while you type)', () => {
    expect(edges(null)).toEqual([]);
    expect(edges({ StartAt: 'Missing', States: { A: { Type: 'Task', Next: 'Nowhere' }, B: 7 } })).toEqual([]);
    expect(stateGraph({ States: { A: 7 } }).nodes.map((n) => n.type)).toEqual(['', '?', '']);
  });
});

describe('layoutGraph', () => {
  it('ranks a chain top to bottom, one node per rank, centred', () => {
    const layout = layoutGraph(stateGraph({ StartAt: 'A', States: { A: { Type: 'Pass', Next: 'B' }, B: { Type: 'Pass', End: true } } }));
    expect([START, 'A', 'B', END].map((id) => rankOf(layout, id))).toEqual([0, 1, 2, 3]);
    expect(new Set(layout.nodes.map((n) => n.x)).size).toBe(1);
    expect(layout.height).toBeGreaterThan(0);
  });

  it('puts a Choice’s targets side by side, and End below the longest path', () => {
    const layout = layoutGraph(stateGraph({
      StartAt: 'C',
      States: { C: { Type: 'Choice', Choices: [{ Variable: '$.a', BooleanEquals: true, Next: 'L' }], Default: 'R' }, L: { Type: 'Pass', Next: 'L2' }, L2: { Type: 'Succeed' }, R: { Type: 'Succeed' } },
    }));
    expect(rankOf(layout, 'L')).toBe(rankOf(layout, 'R'));
    expect(rankOf(layout, END)).toBe(rankOf(layout, 'L2') + 1);
    const [l, r] = ['L', 'R'].map((id) => layout.nodes.find((n) => n.id === id)!);
    expect(l!.x).toBeLessThan(r!.x);
  });

  it('a loop back to an earlier state does not push the ranks down', () => {
    const layout = layoutGraph(stateGraph({
      StartAt: 'Try',
      States: { Try: { Type: 'Task', Resource: 'f', Next: 'Check' }, Check: { Type: 'Choice', Choices: [{ Variable: '$.again', BooleanEquals: true, Next: 'Try' }], Default: 'Done' }, Done: { Type: 'Succeed' } },
    }));
    expect(['Try', 'Check', 'Done', END].map((id) => rankOf(layout, id))).toEqual([1, 2, 3, 4]);
    expect(layout.nodes).toHaveLength(5);
  });

  it('places every node, states that Start cannot reach included', () => {
    const layout = layoutGraph(stateGraph({ StartAt: 'A', States: { A: { Type: 'Succeed' }, Orphan: { Type: 'Pass', End: true } } }));
    expect(layout.nodes.map((n) => n.id).sort()).toEqual([END, START, 'A', 'Orphan'].sort());
  });
});
