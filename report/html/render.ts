/**
 * The HTML report of one run: every figure inline as SVG with a link to its PNG, the figure's summary table, the
 * processing notes (what was left out and why), and a provenance line under each figure. Pure: a function of the
 * stored manifest and the processed results, so regenerating it from the same run gives the same page.
 */
import type { HarnessManifest } from '../run-dir.js';
import type { Row } from '../types.js';

export interface ReportFigure {
  experiment: string;
  id: string;
  title: string;
  caption: string;
  /** SVG text (inlined) and the PNG's path relative to the report. */
  svg: string;
  png: string;
  csv: Record<string, string>;
  summary: Row[];
  /** The experiment's headline series with their sample counts (report/headline.ts); empty: all descriptive. */
  headline: Row[];
  notes: string[];
  durationMs: number | null;
  status: string;
  /** The host's 1-minute load average at the experiment's start and end, as text. */
  loadAvg: string;
}

/** A run-level section (claims table, cost model): tables and notes, with a figure when the step drew one. */
export interface ReportSection {
  id: string;
  title: string;
  caption: string;
  svg: string | null;
  png: string | null;
  csv: Record<string, string>;
  /** The step's JSON artefact, relative to the report. */
  json: string | null;
  summary: Row[];
  notes: string[];
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** One line naming where a figure came from. */
export function provenance(m: HarnessManifest): string {
  const commit = m.git.commit === null ? 'no git commit' : `commit ${m.git.commit.slice(0, 12)}${m.git.dirty ? ' (uncommitted changes)' : ''}`;
  return `run ${m.runId} · ${commit} · ${m.host}: ${m.cpu.model} × ${m.cpu.count}, ${(m.memoryBytes / 2 ** 30).toFixed(1)} GiB, Node ${m.node}, Linux ${m.kernel} · ${m.startedAt}`;
}

function cell(v: Row[string]): string {
  if (v === null || v === undefined) return '<td class="na">–</td>';
  if (typeof v === 'number') return `<td class="num">${Number.isInteger(v) ? v : v.toFixed(3)}</td>`;
  return `<td>${esc(String(v))}</td>`;
}

function table(rows: Row[]): string {
  if (rows.length === 0) return '<p class="na">no rows</p>';
  const cols: string[] = [];
  for (const r of rows) for (const k of Object.keys(r)) if (!cols.includes(k)) cols.push(k);
  const head = cols.map((c) => `<th>${esc(c)}</th>`).join('');
  const body = rows.map((r) => `<tr>${cols.map((c) => cell(r[c] ?? null)).join('')}</tr>`).join('\n');
  return `<div class="scroll"><table><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table></div>`;
}

/** Which series `mfbench compare` judges; every other series of the figure is descriptive. */
function headlineSection(rows: Row[]): string {
  const descriptive = '<code>mfbench compare</code> marks them <i>descriptive</i> when they have too few samples for a verdict';
  if (rows.length === 0) return `<p class="na">No headline series: every series of this figure is descriptive (${descriptive}).</p>`;
  return `<p>Headline series, sized so that <code>mfbench compare</code> can judge them; all other series of this figure are descriptive (${descriptive}).</p>\n${table(rows)}`;
}


function runSection(s: ReportSection, prov: string): string {
  const links = [
    ...(s.png === null ? [] : [`<a href="${esc(s.png)}">PNG</a>`]),
    ...Object.entries(s.csv).map(([name, path]) => `<a href="${esc(path)}">${esc(name)}.csv</a>`),
    ...(s.json === null ? [] : [`<a href="${esc(s.json)}">${esc(s.json)}</a>`]),
  ].join(' · ');
  return `<section id="${esc(s.id)}">
<h2>${esc(s.title)}</h2>
<figure>
${s.svg ?? ''}
<figcaption>${esc(s.caption)}</figcaption>
<p class="prov">${esc(prov)}</p>
<p class="links">${links}</p>
</figure>
${table(s.summary)}
${s.notes.length > 0 ? `<ul class="notes">${s.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>` : ''}
</section>`;
}

/** The page: the run-level sections (claims first) above the experiments' figures. */
export function renderReport(manifest: HarnessManifest, figures: ReportFigure[], runSections: ReportSection[] = []): string {
  const prov = provenance(manifest);
  const sections = figures.map((f) => {
    const csvLinks = Object.entries(f.csv).map(([name, path]) => `<a href="${esc(path)}">${esc(name)}.csv</a>`).join(' · ');
    return `<section id="${esc(f.id)}">
<h2>${esc(f.title)} <small>(${esc(f.experiment)}, Figure ${esc(f.id)})</small></h2>
<figure>
${f.svg}
<figcaption>${esc(f.caption)}</figcaption>
<p class="prov">${esc(prov)} · experiment ${esc(f.experiment)} (${esc(f.status)}, ${f.durationMs === null ? '?' : (f.durationMs / 1000).toFixed(1)} s, load average ${f.loadAvg})</p>
<p class="links"><a href="${esc(f.png)}">PNG</a> · ${csvLinks}</p>
</figure>
<h3>Summary</h3>
${table(f.summary)}
<h3>Series for the regression gate</h3>
${headlineSection(f.headline)}
${f.notes.length > 0 ? `<ul class="notes">${f.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>` : ''}
</section>`;
  });
  const adapters = manifest.adapters.map((a) => `<li><code>${esc(a.variant)}</code>: ${esc(JSON.stringify(a.resolved))}</li>`).join('');
  const workloads = manifest.workloads.map((w) => `<li><code>${esc(w.name)}</code> sha256 ${esc(w.sha256.slice(0, 16))}… (${w.files} files)</li>`).join('');
  const experiments = manifest.experiments
    .map((e) => `<li><code>${esc(e.name)}</code> ${esc(e.size)}: ${esc(e.status)}, ${e.requests} requests, ${e.durationMs === null ? '?' : (e.durationMs / 1000).toFixed(1)} s${e.error ? ` — ${esc(e.error)}` : ''}<br><small>${esc(JSON.stringify(e.config))}</small></li>`)
    .join('');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>mfbench report ${esc(manifest.runId)}</title>
<style>
body { font-family: 'DejaVu Sans', sans-serif; max-width: 1200px; margin: 2em auto; padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; border-top: 1px solid #ddd; padding-top: 1em; } h2 small { color: #666; font-weight: normal; }
figure { margin: 0; } figure svg { max-width: 100%; height: auto; }
figcaption { margin: .5em 0; } .prov { font-size: .8em; color: #555; } .links { font-size: .85em; }
.scroll { overflow-x: auto; } table { border-collapse: collapse; font-size: .8em; }
th, td { border: 1px solid #ddd; padding: 2px 6px; } th { background: #f4f4f4; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.na { color: #999; } .notes { font-size: .85em; color: #444; } code { font-size: .9em; }
</style>
</head>
<body>
<h1>mfbench run <code>${esc(manifest.runId)}</code></h1>
<p class="prov">${esc(prov)}</p>
<p>Size <b>${esc(manifest.size)}</b>, seed ${manifest.seed}, status ${esc(manifest.status)}. Raw records: <a href="${esc(manifest.files.raw)}">${esc(manifest.files.raw)}</a> (one line per request);
flat metric stream: <a href="records.jsonl">records.jsonl</a>; manifest: <a href="manifest.json">manifest.json</a>. Regenerate with <code>mfbench report ${esc(manifest.runId)}</code>.</p>
<details><summary>Experiments, platforms and workloads</summary>
<ul>${experiments}</ul><ul>${adapters}</ul><ul>${workloads}</ul>
</details>
${runSections.map((s) => runSection(s, prov)).join('\n')}
${sections.join('\n')}
</body>
</html>
`;
}
