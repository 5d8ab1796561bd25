/**
 * The look every figure shares: a font the headless renderer has (librsvg through sharp renders with fontconfig;
 * DejaVu Sans is installed almost everywhere), sizes readable in a paper column, and a colour-blind-safe palette.
 */
export const FONT = 'DejaVu Sans, sans-serif';

/** Tableau 10 (vega's default categorical scheme), listed so that a figure can pin colours to categories. */
export const PALETTE = ['#4c78a8', '#f58518', '#e45756', '#72b7b2', '#54a24b', '#eeca3b', '#b279a2', '#ff9da6', '#9d755d', '#bab0ac'];

/** The vega-lite `config` block of every figure. */
export const THEME = {
  font: FONT,
  background: 'white',
  padding: 12,
  title: { fontSize: 16, subtitleFontSize: 12, anchor: 'start', offset: 10, subtitleColor: '#444' },
  axis: { labelFontSize: 11, titleFontSize: 12, titlePadding: 8, gridColor: '#e6e6e6' },
  legend: { labelFontSize: 11, titleFontSize: 12, labelLimit: 320 },
  header: { labelFontSize: 12, titleFontSize: 12 },
  view: { stroke: '#ccc' },
  concat: { spacing: 40 },
} as const;

export const VEGA_LITE_SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

/** A figure's top-level title: its id as "Figure <id>", its title, and a subtitle line. */
export function figureTitle(figure: { id: string; title: string }, subtitle?: string | string[]): Record<string, unknown> {
  return { text: `${figure.title}`, subtitle: subtitle ?? `Figure ${figure.id}` };
}
