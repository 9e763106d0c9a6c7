// Ringkasan: headline numbers and charts, all from GET /api/v1/stats/overview.
import { get } from "../api.js";
import { STATUS_COLORS, PALETTE, barChart, columnChart, donutChart, lineChart } from "../charts.js";
import { html } from "../dom.js";
import { formatDate, formatNumber, formatScore } from "../format.js";
import { label, t } from "../i18n.js";
import { metric } from "./common.js";
import { opdName, urusanName } from "../vocab.js";

const STATUS_ORDER = ["DRAFT", "SUBMITTED", "UNDER_REVIEW", "AWAITING_DPRD", "AWAITING_CENTRAL", "READY_TO_SIGN",
  "SIGNED", "ACTIVE", "EXPIRED", "TERMINATED", "REJECTED", "CANCELLED"];
const CATEGORY_ORDER = ["KSDD", "KSDPK", "KSDPL", "KSDLL", "SINERGI"];
const KIND_ORDER = ["daerah_lain", "pihak_ketiga", "pemda_luar_negeri", "lembaga_luar_negeri", "pemerintah_pusat"];
const FOREIGN = ["KSDPL", "KSDLL"];

function ordered(counts = {}, order = []) {
  const keys = [...order.filter((k) => k in counts), ...Object.keys(counts).filter((k) => !order.includes(k)).sort()];
  return keys.map((key) => ({ key, value: counts[key] }));
}

function top(counts = {}, n = 10) {
  return Object.entries(counts).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, n)
    .map(([key, value]) => ({ key, value }));
}

/** Domestic/foreign counts: the register's scope, or (when it is not filled in) the same derived from the category. */
function scopeCounts(agreements) {
  const byScope = agreements.by_scope || {};
  const known = { dalam_negeri: byScope.dalam_negeri || 0, luar_negeri: byScope.luar_negeri || 0 };
  if (known.dalam_negeri + known.luar_negeri === (agreements.total || 0)) return known;
  const derived = { dalam_negeri: 0, luar_negeri: 0 };
  for (const [category, n] of Object.entries(agreements.by_category || {})) {
    derived[FOREIGN.includes(category) ? "luar_negeri" : "dalam_negeri"] += n;
  }
  return derived;
}

function yearRange(...maps) {
  const years = maps.flatMap((m) => Object.keys(m || {})).map(Number).filter((y) => y > 1900);
  if (!years.length) return [];
  const out = [];
  for (let y = Math.min(...years); y <= Math.max(...years); y += 1) out.push(String(y));
  return out;
}

export async function overview(el) {
  const stats = await get("/stats/overview");
  const a = stats.agreements || { total: 0 };
  const e = stats.evaluations || { total: 0 };
  const p = stats.partners || { total: 0 };
  const today = stats.today || {};
  const average = e.average_score;

  const headlines = html`<section class="metrics" aria-label="${t("overview.title")}">
    <a class="metric-link" href="#/register">${metric(t("overview.headline.total"), formatNumber(a.total || 0), { testid: "headline-total", raw: a.total || 0 })}</a>
    <a class="metric-link" href="#/register?status=ACTIVE">${metric(t("overview.headline.active"), formatNumber((a.by_status || {}).ACTIVE || 0), { testid: "headline-active", raw: (a.by_status || {}).ACTIVE || 0 })}</a>
    <a class="metric-link metric-warn" href="#/expiring">${metric(t("overview.headline.expiring"), formatNumber(today.expiring_within_90 || 0), { testid: "headline-expiring", raw: today.expiring_within_90 || 0 })}</a>
    <a class="metric-link metric-bad" href="#/overdue">${metric(t("overview.headline.overdue"), formatNumber(today.evaluations_overdue || 0), { testid: "headline-overdue", raw: today.evaluations_overdue || 0 })}</a>
    <div class="metric-link metric-score">${metric(t("overview.headline.score"), average === null || average === undefined ? t("overview.no_score") : formatScore(average),
      { testid: "headline-score", raw: average ?? "", hint: average === null || average === undefined ? "" : t("overview.score_of") })}</div>
  </section>
  <p class="secondary-metrics muted">
    <span>${t("overview.headline.partners")}: <strong data-testid="headline-partners" data-value="${p.total || 0}">${formatNumber(p.total || 0)}</strong></span>
    <span>${t("overview.headline.reports")}: <strong data-testid="headline-reports" data-value="${today.reports_overdue || 0}">${formatNumber(today.reports_overdue || 0)}</strong></span>
  </p>`;

  const status = ordered(a.by_status, STATUS_ORDER).map((i) => ({ ...i, label: label("status", i.key), color: STATUS_COLORS[i.key] }));
  const category = ordered(a.by_category, CATEGORY_ORDER).map((i) => ({ ...i, label: label("category", i.key) }));
  const scope = Object.entries(scopeCounts(a)).map(([key, value], i) => ({ key, value, label: label("scope", key), color: ["#1f6f8b", "#e07a2f"][i] }));
  const kinds = ordered(a.by_partner_kind, KIND_ORDER).map((i) => ({ ...i, label: label("kind", i.key) }));
  const years = yearRange(a.by_year, a.signed_by_year);
  const ratings = ["1", "2", "3", "4", "5"];
  const scoreYears = yearRange(e.average_by_year);
  const opds = top(a.by_lead_opd).map((i) => ({ ...i, label: opdName(i.key), color: PALETTE[6] }));
  const urusan = top(a.by_urusan).map((i) => ({ ...i, label: urusanName(i.key), color: PALETTE[2] }));

  const chart = (testid, title, body, wide = false) => html`<figure class="card chart ${wide ? "chart-wide" : ""}" data-testid="${testid}">
    <figcaption>${title}</figcaption>${body}</figure>`;

  el.innerHTML = String(html`<div class="page-head">
      <h1>${t("overview.title")}</h1>
      <p class="muted" data-testid="as-of">${t("common.as_of", { date: formatDate(stats.as_of) })}</p>
    </div>
    ${headlines}
    <div class="charts">
      ${chart("chart-status", t("chart.status"), barChart(status, { title: t("chart.status") }))}
      ${chart("chart-category", t("chart.category"), donutChart(category, { title: t("chart.category") }))}
      ${chart("chart-scope", t("chart.scope"), donutChart(scope, { title: t("chart.scope") }))}
      ${chart("chart-partner-kind", t("chart.partner_kind"), barChart(kinds, { title: t("chart.partner_kind") }))}
      ${chart("chart-year", t("chart.year"), columnChart(years, [
        { key: "start", label: t("chart.year.start"), values: a.by_year || {}, color: PALETTE[0] },
        { key: "signed", label: t("chart.year.signed"), values: a.signed_by_year || {}, color: PALETTE[1] }],
        { title: t("chart.year") }))}
      ${chart("chart-rating", t("chart.rating"), columnChart(ratings, [
        { key: "rating", label: t("chart.rating"), values: e.rating_distribution || {}, color: PALETTE[2] }],
        { title: t("chart.rating") }))}
      ${chart("chart-score-year", t("chart.score_year"), lineChart(scoreYears.map((y) => ({ key: y, value: (e.average_by_year || {})[y] ?? null })),
        { title: t("chart.score_year"), format: formatScore }))}
      ${chart("chart-opd", t("chart.opd"), barChart(opds, { title: t("chart.opd") }))}
      ${chart("chart-urusan", t("chart.urusan"), barChart(urusan, { title: t("chart.urusan") }))}
    </div>`);
  return stats;
}

