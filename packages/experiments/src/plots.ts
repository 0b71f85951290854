// Plots: Vega-Lite specs compiled by vega-lite and rendered to SVG strings by vega's headless
// View (renderer 'none', toSVG: no canvas, no DOM, no network), so a report page carries its plots
// inline and needs nothing at view time. Data is always inline (`data.values`); a spec that asks
// for a URL is refused, so rendering never touches the network.
import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

export type VegaLiteSpec = TopLevelSpec;

const CONFIG = {
  font: 'DejaVu Sans, Helvetica, Arial, sans-serif',
  axis: { labelFontSize: 11, titleFontSize: 12 },
  title: { fontSize: 13, anchor: 'start' as const },
  view: { stroke: '#ddd' },
};

/** An SVG document (string) of the spec, rendered at build time. */
export async function renderSvg(spec: VegaLiteSpec): Promise<string> {
  const data = (spec as { data?: { url?: unknown } }).data;
  if (data && data.url !== undefined) throw new RangeError('renderSvg: plots take inline data (data.values), never a URL');
  const { spec: vg } = compile({ ...spec, config: { ...CONFIG, ...(spec as { config?: object }).config } } as TopLevelSpec);
  const view = new View(parse(vg), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
