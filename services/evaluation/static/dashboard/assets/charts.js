// Small SVG chart helpers (no library): horizontal bars, donut, grouped columns, line.
// Each returns html`...` (an <svg> plus, where useful, a legend) drawn from the data it is given;
// every mark carries data-key / data-value so the numbers can be checked against the API.
import { html, raw, esc } from "./dom.js";
import { formatNumber } from "./format.js";
import { t } from "./i18n.js";

export const PALETTE = ["#1f6f8b", "#e07a2f", "#3a9d5d", "#8e5ea2", "#d4a72c", "#c8414b", "#4f7cc4", "#6b8e23",
  "#a0522d", "#5f6b7a"];

export const STATUS_COLORS = {
  DRAFT: "#8a94a6", SUBMITTED: "#6d8fc7", UNDER_REVIEW: "#4f7cc4", AWAITING_DPRD: "#8e5ea2",
  AWAITING_CENTRAL: "#a26bb8", READY_TO_SIGN: "#d4a72c", SIGNED: "#2a9d8f", ACTIVE: "#2e8b57",
  EXPIRED: "#5f6b7a", TERMINATED: "#c8414b", REJECTED: "#a83240", CANCELLED: "#b0b7c3",
};

const colorOf = (item, i) => item.color || PALETTE[i % PALETTE.length];
const truncate = (text, n) => (text.length > n ? `${text.slice(0, n - 1)}…` : text);
const num = (v) => Math.round(v * 100) / 100;

function empty(items) {
  return !items.length || items.every((i) => !Number(i.value));
}

function emptyNote() {
  return html`<p class="muted chart-empty">${t("chart.empty")}</p>`;
}

/** Horizontal bars: items = [{key, label, value, color?}]. */
export function barChart(items, { title = "", format = formatNumber, labelChars = 19 } = {}) {
  if (empty(items)) return emptyNote();
  const W = 370, labelW = 162, valueW = 40, rowH = 28, barH = 17, pad = 4;
  const max = Math.max(...items.map((i) => Number(i.value) || 0), 1);
  const H = items.length * rowH + pad * 2;
  const rows = items.map((item, i) => {
    const y = pad + i * rowH;
    const w = Math.max(2, ((W - labelW - valueW) * (Number(item.value) || 0)) / max);
    return raw(`<g class="bar" data-key="${esc(item.key)}" data-value="${esc(item.value)}">`
      + `<title>${esc(item.label)}: ${esc(format(item.value))}</title>`
      + `<text class="chart-label" x="${labelW - 8}" y="${num(y + rowH / 2)}" text-anchor="end" dominant-baseline="central">${esc(truncate(item.label, labelChars))}</text>`
      + `<rect x="${labelW}" y="${num(y + (rowH - barH) / 2)}" width="${num(w)}" height="${barH}" rx="3" fill="${esc(colorOf(item, i))}"></rect>`
      + `<text class="chart-value" x="${num(labelW + w + 6)}" y="${num(y + rowH / 2)}" dominant-baseline="central">${esc(format(item.value))}</text>`
      + `</g>`);
  });
  return html`<svg class="chart-svg" viewBox="0 0 ${W} ${H}" role="img" aria-label="${title}">${rows}</svg>`;
}

/** Donut with a legend: items = [{key, label, value, color?}]; the total is written in the middle. */
export function donutChart(items, { title = "", format = formatNumber } = {}) {
  if (empty(items)) return emptyNote();
  const total = items.reduce((s, i) => s + (Number(i.value) || 0), 0);
  const r = 62, C = 2 * Math.PI * r;
  let offset = 0;
  const slices = items.filter((i) => Number(i.value) > 0).map((item) => {
    const index = items.indexOf(item);
    const length = (C * Number(item.value)) / total;
    const slice = raw(`<circle class="slice" data-key="${esc(item.key)}" data-value="${esc(item.value)}" cx="100" cy="100" r="${r}" fill="none" `
      + `stroke="${esc(colorOf(item, index))}" stroke-width="34" stroke-dasharray="${num(length)} ${num(C - length)}" `
      + `stroke-dashoffset="${num(-offset)}" transform="rotate(-90 100 100)"><title>${esc(item.label)}: ${esc(format(item.value))}</title></circle>`);
    offset += length;
    return slice;
  });
  const legend = items.map((item, i) => {
    const share = total ? Math.round((Number(item.value) / total) * 100) : 0;
    return html`<li><svg class="swatch" viewBox="0 0 12 12" aria-hidden="true"><rect width="12" height="12" rx="2" fill="${colorOf(item, i)}"></rect></svg>
      <span class="legend-label">${item.label}</span><span class="legend-value">${format(item.value)} <small>(${share}%)</small></span></li>`;
  });
  return html`<div class="donut">
    <svg class="chart-svg donut-svg" viewBox="0 0 200 200" role="img" aria-label="${title}">
      <circle cx="100" cy="100" r="${r}" fill="none" stroke="#eef1f5" stroke-width="34"></circle>
      ${slices}
      <text class="donut-total" x="100" y="96" text-anchor="middle" dominant-baseline="central">${format(total)}</text>
      <text class="donut-caption" x="100" y="122" text-anchor="middle">${t("chart.total")}</text>
    </svg>
    <ul class="legend">${legend}</ul>
  </div>`;
}

/** A round axis maximum split into 4 steps (whole steps for counts). */
function niceMax(value) {
  const raw = Math.max(value, 1) / 4;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 2.5, 3, 4, 5, 6, 8, 10]) {
    const step = m * magnitude;
    if (step >= raw && (step >= 1 ? Number.isInteger(step) : true)) return Math.max(4, step * 4);
  }
  return 40 * magnitude;
}

/** Grouped columns: categories = ["2023", …], series = [{key, label, values: {category: n}, color?}]. */
export function columnChart(categories, series, { title = "", format = formatNumber, yMax = null } = {}) {
  const all = series.flatMap((s) => categories.map((c) => Number(s.values[c]) || 0));
  if (!categories.length || all.every((v) => !v)) return emptyNote();
  const W = 380, H = 210, left = 30, right = 6, top = 18, bottom = 28;
  const plotW = W - left - right, plotH = H - top - bottom;
  const max = yMax || niceMax(Math.max(...all, 1));
  const groupW = plotW / categories.length;
  const barW = Math.min(34, (groupW * 0.76) / series.length);
  const y = (v) => top + plotH - (plotH * v) / max;
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => max * f);
  const grid = ticks.map((v) => raw(`<line class="grid" x1="${left}" x2="${W - right}" y1="${num(y(v))}" y2="${num(y(v))}"></line>`
    + `<text class="chart-axis" x="${left - 5}" y="${num(y(v))}" text-anchor="end" dominant-baseline="central">${esc(format(Math.round(v * 10) / 10))}</text>`));
  const bars = categories.map((category, ci) => {
    const x0 = left + ci * groupW + (groupW - barW * series.length) / 2;
    const columns = series.map((s, si) => {
      const value = Number(s.values[category]) || 0;
      const x = x0 + si * barW;
      const h = Math.max(value ? 1.5 : 0, plotH * value / max);
      return raw(`<g class="column" data-series="${esc(s.key)}" data-key="${esc(category)}" data-value="${value}">`
        + `<title>${esc(s.label)} ${esc(category)}: ${esc(format(value))}</title>`
        + `<rect x="${num(x + 1)}" y="${num(top + plotH - h)}" width="${num(barW - 2)}" height="${num(h)}" rx="2" fill="${esc(colorOf(s, si))}"></rect>`
        + (value ? `<text class="chart-value" x="${num(x + barW / 2)}" y="${num(top + plotH - h - 4)}" text-anchor="middle">${esc(format(value))}</text>` : "")
        + `</g>`);
    });
    const label = raw(`<text class="chart-axis" x="${num(left + ci * groupW + groupW / 2)}" y="${H - 10}" text-anchor="middle">${esc(category)}</text>`);
    return [columns, label];
  });
  const legend = series.length > 1 ? html`<ul class="legend legend-inline">${series.map((s, i) => html`<li>
      <svg class="swatch" viewBox="0 0 12 12" aria-hidden="true"><rect width="12" height="12" rx="2" fill="${colorOf(s, i)}"></rect></svg>
      <span class="legend-label">${s.label}</span></li>`)}</ul>` : "";
  return html`<svg class="chart-svg" viewBox="0 0 ${W} ${H}" role="img" aria-label="${title}">${grid}
    <line class="axis" x1="${left}" x2="${W - right}" y1="${top + plotH}" y2="${top + plotH}"></line>${bars}</svg>${legend}`;
}

/** A line over categories (e.g. years): points = [{key, value}] with values on 0..yMax. */
export function lineChart(points, { title = "", format = formatNumber, yMax = 100, color = PALETTE[0] } = {}) {
  const valid = points.filter((p) => p.value !== null && p.value !== undefined);
  if (!valid.length) return emptyNote();
  const W = 380, H = 200, left = 30, right = 16, top = 18, bottom = 28;
  const plotW = W - left - right, plotH = H - top - bottom;
  const step = points.length > 1 ? plotW / (points.length - 1) : 0;
  const x = (i) => (points.length > 1 ? left + i * step : left + plotW / 2);
  const y = (v) => top + plotH - (plotH * v) / yMax;
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => yMax * f);
  const grid = ticks.map((v) => raw(`<line class="grid" x1="${left}" x2="${W - right}" y1="${num(y(v))}" y2="${num(y(v))}"></line>`
    + `<text class="chart-axis" x="${left - 5}" y="${num(y(v))}" text-anchor="end" dominant-baseline="central">${esc(format(v))}</text>`));
  const path = points.map((p, i) => (p.value === null || p.value === undefined ? null : `${num(x(i))},${num(y(p.value))}`))
    .filter(Boolean).join(" ");
  const dots = points.map((p, i) => raw(`<text class="chart-axis" x="${num(x(i))}" y="${H - 10}" text-anchor="middle">${esc(p.key)}</text>`
    + (p.value === null || p.value === undefined ? "" : `<g class="point" data-key="${esc(p.key)}" data-value="${esc(p.value)}"><title>${esc(p.key)}: ${esc(format(p.value))}</title>`
      + `<circle cx="${num(x(i))}" cy="${num(y(p.value))}" r="4.5" fill="#fff" stroke="${esc(color)}" stroke-width="2.5"></circle>`
      + `<text class="chart-value" x="${num(x(i))}" y="${num(y(p.value) - 10)}" text-anchor="middle">${esc(format(p.value))}</text></g>`)));
  return html`<svg class="chart-svg" viewBox="0 0 ${W} ${H}" role="img" aria-label="${title}">${grid}
    <line class="axis" x1="${left}" x2="${W - right}" y1="${top + plotH}" y2="${top + plotH}"></line>
    <polyline points="${path}" fill="none" stroke="${color}" stroke-width="2.5" stroke-linejoin="round"></polyline>${dots}</svg>`;
}

/** A thin progress bar (SVG, so no inline style is needed under the page's CSP). */
export function progressBar(percent, { testid = "progress-bar" } = {}) {
  const p = Math.max(0, Math.min(100, Number(percent) || 0));
  const tone = p >= 75 ? "#2e8b57" : p >= 40 ? "#d4a72c" : "#c8414b";
  return html`<svg class="progress" viewBox="0 0 100 8" preserveAspectRatio="none" role="img" aria-label="${formatNumber(p)}%"
    data-testid="${testid}" data-value="${p}"><rect width="100" height="8" rx="4" fill="#e6eaf0"></rect>
    <rect width="${num(p)}" height="8" rx="4" fill="${tone}"></rect></svg>`;
}
