/**
 * Renders a vega-lite spec headless: compiled with vega-lite, run by vega without a renderer to SVG, and rasterised
 * to PNG by sharp (librsvg inside libvips). No browser, no canvas package.
 */
import sharp from 'sharp';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { VegaLiteSpec } from '../types.js';

/** PNG pixels per SVG pixel (2: sharp enough for a paper column at its printed size). */
export const PNG_SCALE = 2;

export interface Rendered {
  svg: string;
  png: Buffer;
  /** SVG size in CSS pixels (the PNG is PNG_SCALE times larger). */
  width: number;
  height: number;
}

/** Compiles and renders a spec. Throws with vega-lite's message when the spec is invalid. */
export async function renderSpec(spec: VegaLiteSpec): Promise<Rendered> {
  const compiled = compile(spec as unknown as TopLevelSpec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    const svg = await view.toSVG();
    const m = /<svg[^>]*\bwidth="([\d.]+)"[^>]*\bheight="([\d.]+)"/.exec(svg);
    if (!m) throw new Error('vega produced an SVG without width and height');
    const width = Number(m[1]);
    const height = Number(m[2]);
    // librsvg renders at 72 dpi by default; density scales it so that the PNG is PNG_SCALE times the SVG size.
    const png = await sharp(Buffer.from(svg), { density: 72 * PNG_SCALE }).png().toBuffer();
    return { svg, png, width, height };
  } finally {
    view.finalize();
  }
}
