// The comparison chart as a standalone SVG: two panels (held-out infill exact match against epochs,
// and against training FLOPs), one curve per objective (solid; edit similarity dotted beside it,
// since small models often score no exact match at all), the retrieval baseline as a dashed level
// line, and a marker at the crossover. Hand-written SVG: no browser, no chart library, the same
// bytes for the same figures (so the committed chart diffs cleanly). Knows only the figures.
import { fmtFlops, type Crossover, type RunCurve } from './curves';

export interface ChartInput {
  title: string;
  diffusion: RunCurve;
  autoregressive: RunCurve;
  retrievalExact: number | null;
  crossover?: Crossover;
  /** Shown under the title, e.g. the one-sentence result. */
  subtitle?: string;
}

const W = 1000;
const H = 440;
const PANEL_W = 400;
const PANEL_H = 270;
const TOP = 104;
const LEFTS = [70, 570];
const COLORS = { diffusion: '#2563eb', autoregressive: '#dc2626', retrieval: '#6b7280' };

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const r2 = (x: number) => (Math.round(x * 100) / 100).toString();

/** Up to `maxLines` lines of at most `width` characters, cut at spaces; an ellipsis when cut short. */
function wrap(text: string, width: number, maxLines: number): string[] {
  const lines: string[] = [];
  let rest = text.trim();
  while (rest && lines.length < maxLines) {
    if (rest.length <= width) {
      lines.push(rest);
      rest = '';
      break;
    }
    const cut = rest.lastIndexOf(' ', width);
    const at = cut > width / 2 ? cut : width;
    lines.push(rest.slice(0, at));
    rest = rest.slice(at).trim();
  }
  if (rest && lines.length) lines[lines.length - 1] = lines[lines.length - 1].slice(0, width - 1) + '…';
  return lines;
}

/** Round axis maximum: 1, 2 or 5 times a power of ten at or above x. */
function niceMax(x: number): number {
  if (!(x > 0)) return 1;
  const e = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 2, 5, 10]) if (m * e >= x) return m * e;
  return 10 * e;
}

interface Axis {
  left: number;
  xMax: number;
  yMax: number;
  x(v: number): number;
  y(v: number): number;
}

function axis(left: number, xMax: number, yMax: number): Axis {
  return {
    left, xMax, yMax,
    x: (v) => left + (v / xMax) * PANEL_W,
    y: (v) => TOP + PANEL_H - (v / yMax) * PANEL_H,
  };
}

interface Series {
  color: string;
  pts: Array<[number, number]>;
  /** Dotted and thinner: the edit-similarity companion of a curve. */
  dotted?: boolean;
}

function panel(a: Axis, xLabel: string, fmtX: (v: number) => string, series: Series[], retrieval: number | null, mark?: [number, number]): string {
  const out: string[] = [];
  out.push(`<rect x="${a.left}" y="${TOP}" width="${PANEL_W}" height="${PANEL_H}" fill="#fff" stroke="#9ca3af"/>`);
  // Five intervals: a 1/2/5 x 10^e maximum divides into round steps.
  for (let k = 0; k <= 5; k++) {
    const yv = (a.yMax * k) / 5;
    const y = r2(a.y(yv));
    out.push(`<line x1="${a.left}" y1="${y}" x2="${a.left + PANEL_W}" y2="${y}" stroke="#e5e7eb"/>`);
    out.push(`<text x="${a.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle" font-size="11">${(yv * 100).toFixed(yv * 100 < 10 && a.yMax < 0.2 ? 1 : 0)}%</text>`);
    const xv = (a.xMax * k) / 5;
    const x = r2(a.x(xv));
    out.push(`<line x1="${x}" y1="${TOP + PANEL_H}" x2="${x}" y2="${TOP + PANEL_H + 4}" stroke="#6b7280"/>`);
    out.push(`<text x="${x}" y="${TOP + PANEL_H + 17}" text-anchor="middle" font-size="11">${esc(fmtX(xv))}</text>`);
  }
  out.push(`<text x="${a.left + PANEL_W / 2}" y="${TOP + PANEL_H + 36}" text-anchor="middle" font-size="12">${esc(xLabel)}</text>`);
  out.push(`<text transform="translate(${a.left - 48} ${TOP + PANEL_H / 2}) rotate(-90)" text-anchor="middle" font-size="12">held-out infill (trainer evaluations)</text>`);
  if (retrieval !== null) {
    const y = r2(a.y(retrieval));
    out.push(`<line x1="${a.left}" y1="${y}" x2="${a.left + PANEL_W}" y2="${y}" stroke="${COLORS.retrieval}" stroke-width="1.5" stroke-dasharray="6 4"/>`);
  }
  for (const s of series) {
    if (!s.pts.length) continue;
    const d = s.pts.map(([x, y], i) => `${i ? 'L' : 'M'}${r2(a.x(x))} ${r2(a.y(y))}`).join(' ');
    if (s.dotted) {
      out.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="1.2" stroke-dasharray="2 3"/>`);
      continue;
    }
    out.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"/>`);
    for (const [x, y] of s.pts) out.push(`<circle cx="${r2(a.x(x))}" cy="${r2(a.y(y))}" r="2.5" fill="${s.color}"/>`);
  }
  if (mark) {
    const [x, y] = [r2(a.x(mark[0])), r2(a.y(mark[1]))];
    out.push(`<circle cx="${x}" cy="${y}" r="7" fill="none" stroke="#111827" stroke-width="2"/>`);
    out.push(`<text x="${x}" y="${r2(a.y(mark[1]) - 12)}" text-anchor="middle" font-size="11" font-weight="bold">crossover</text>`);
  }
  return out.join('\n');
}

/** The chart's SVG text. */
export function renderCompareSvg(c: ChartInput): string {
  const curves = [c.diffusion, c.autoregressive];
  const pts = (r: RunCurve, key: 'epoch' | 'flops', metric: 'exact' | 'editSim') =>
    r.points.filter((p) => p[metric] !== null).map((p) => [p[key], p[metric] as number] as [number, number]);
  const allY = curves.flatMap((r) => r.points.flatMap((p) => [p.exact ?? 0, p.editSim ?? 0])).concat(c.retrievalExact ?? 0);
  const yMax = Math.min(1, niceMax(Math.max(0.05, ...allY) * 1.1));
  const epochMax = niceMax(Math.max(1e-9, ...curves.flatMap((r) => r.points.map((p) => p.epoch))));
  const flopMax = niceMax(Math.max(1, ...curves.flatMap((r) => r.points.map((p) => p.flops))));
  const byEpoch = axis(LEFTS[0], epochMax, yMax);
  const byFlops = axis(LEFTS[1], flopMax, yMax);
  const series = (key: 'epoch' | 'flops'): Series[] => [
    { color: COLORS.diffusion, pts: pts(c.diffusion, key, 'editSim'), dotted: true },
    { color: COLORS.autoregressive, pts: pts(c.autoregressive, key, 'editSim'), dotted: true },
    { color: COLORS.diffusion, pts: pts(c.diffusion, key, 'exact') },
    { color: COLORS.autoregressive, pts: pts(c.autoregressive, key, 'exact') },
  ];
  const x = c.crossover;
  const legend = [
    [COLORS.diffusion, `diffusion (${c.diffusion.preset ?? '?'}, ${c.diffusion.params.toLocaleString('en-US')})`, ''],
    [COLORS.autoregressive, `autoregressive (${c.autoregressive.preset ?? '?'}, ${c.autoregressive.params.toLocaleString('en-US')})`, ''],
    [COLORS.retrieval, 'retrieval, exact (no training)', '6 4'],
    ['#111827', 'solid: exact; dotted: edit sim.', '2 3'],
  ];
  let lx = 20;
  const legendSvg = legend.map(([color, label, dash]) => {
    const at = lx;
    lx += 30 + Math.ceil(label.length * 6.5) + 30; // ~6.5 px a character at 12 px sans-serif, at most
    return [at, color, label, dash] as const;
  }).map(([lx, color, label, dash]) => {
    return `<line x1="${lx}" y1="80" x2="${lx + 24}" y2="80" stroke="${color}" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ''}/><text x="${lx + 30}" y="84" font-size="12">${esc(label)}</text>`;
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" fill="#111827">`,
    `<rect width="${W}" height="${H}" fill="#f9fafb"/>`,
    `<text x="${W / 2}" y="24" text-anchor="middle" font-size="16" font-weight="bold">${esc(c.title)}</text>`,
    ...wrap(c.subtitle ?? '', 160, 2).map((line, i) => `<text x="${W / 2}" y="${44 + 14 * i}" text-anchor="middle" font-size="11">${esc(line)}</text>`),
    ...legendSvg,
    panel(byEpoch, 'epochs (passes over the unique training tokens)', (v) => (v >= 10 ? v.toFixed(0) : v.toFixed(1)), series('epoch'), c.retrievalExact, x ? [x.epoch, x.diffusion] : undefined),
    panel(byFlops, 'training FLOPs (6 x params x tokens)', (v) => (v === 0 ? '0' : fmtFlops(v)), series('flops'), c.retrievalExact, x ? [x.flops, x.diffusion] : undefined),
    '</svg>',
  ].filter((l) => l !== '').join('\n') + '\n';
}
