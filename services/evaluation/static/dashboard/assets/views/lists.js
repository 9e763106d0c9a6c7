// The working lists: agreements expiring soon (expiring=30/60/90) and what is overdue
// (evaluations past due: staff only; agreements whose implementation report is late).
import { get, tryGet } from "../api.js";
import { html } from "../dom.js";
import { formatDate, formatNumber } from "../format.js";
import { label, t } from "../i18n.js";
import { agreementTable, card, enc, forbidden, message, opdLink, statusBadge } from "./common.js";

const WINDOWS = [30, 60, 90];

export async function expiring(el, ctx) {
  const days = WINDOWS.includes(Number(ctx.query.get("days"))) ? Number(ctx.query.get("days")) : 90;
  const result = await get("/agreements", { expiring: days, sort: "end_date", per_page: 200 });
  el.innerHTML = String(html`<div class="page-head"><h1>${t("expiring.title")}</h1>
      <p class="muted">${t("expiring.intro", { n: days })}</p></div>
    <nav class="tabs" aria-label="${t("expiring.title")}" data-testid="expiring-windows">${WINDOWS.map((n) => html`<a
      class="tab ${n === days ? "tab-active" : ""}" ${n === days ? html`aria-current="page"` : ""} href="#/expiring?days=${n}">${t("expiring.within", { n })}</a>`)}</nav>
    <p><strong data-testid="expiring-total" data-value="${result.total}">${t("common.count_agreements", { n: formatNumber(result.total) })}</strong></p>
    ${agreementTable(result.items, {
      rowTestid: "expiring-row",
      extra: { header: t("col.days_left"), cell: (i) => html`<strong class="nowrap">${t("common.days", { n: formatNumber(i.days_to_end) })}</strong>` },
    })}`);
  return result;
}

function evaluationTable(items) {
  if (!items.length) return message("info", t("common.empty"), { testid: "overdue-evaluations-empty" });
  return html`<div class="table-wrap"><table class="table table-cards" data-testid="overdue-evaluations">
    <thead><tr><th scope="col">${t("col.agreement")}</th><th scope="col">${t("col.eval_period")}</th><th scope="col">${t("col.assessor")}</th>
      <th scope="col">${t("col.opd")}</th><th scope="col">${t("col.due")}</th><th scope="col">${t("col.status")}</th></tr></thead>
    <tbody>${items.map((e) => html`<tr data-testid="overdue-evaluation-row" data-id="${e.id}">
      <td data-label="${t("col.agreement")}" class="cell-title"><a href="#/agreement/${enc(e.agreement_id)}">${e.agreement_title || e.agreement_id}</a></td>
      <td data-label="${t("col.eval_period")}">${label("period", e.period)} ${e.year}</td>
      <td data-label="${t("col.assessor")}">${label("assessor", e.assessor_kind)}</td>
      <td data-label="${t("col.opd")}">${opdLink(e.lead_opd)}</td>
      <td data-label="${t("col.due")}" class="nowrap"><strong>${formatDate(e.due_date)}</strong></td>
      <td data-label="${t("col.status")}">${statusBadge(e.status, "evalstatus")}</td></tr>`)}</tbody></table></div>`;
}

export async function overdue(el, ctx) {
  // The evaluations list is for staff: the public view does not ask for it.
  const [evaluations, reports] = await Promise.all([
    ctx.role === "publik" ? Promise.resolve({ forbidden: true }) : tryGet("/evaluations", { due: "overdue", per_page: 200 }),
    get("/agreements", { overdue_report: "true", sort: "end_date", per_page: 200 }),
  ]);
  const evaluationBody = evaluations.forbidden ? forbidden(ctx.role) : html`<p><strong data-testid="overdue-evaluations-total" data-value="${evaluations.total}">${formatNumber(evaluations.total)}</strong></p>${evaluationTable(evaluations.items)}`;
  el.innerHTML = String(html`<div class="page-head"><h1>${t("overdue.title")}</h1></div>
    ${card(t("overdue.evaluations"), evaluationBody, { testid: "overdue-evaluations-card" })}
    ${card(t("overdue.reports"), html`<p><strong data-testid="overdue-reports-total" data-value="${reports.total}">${formatNumber(reports.total)}</strong></p>
      ${agreementTable(reports.items, {
        rowTestid: "overdue-report-row",
        extra: { header: t("col.report_due"), cell: (i) => html`<span class="nowrap">${formatDate(i.report_due_by)}</span>` },
      })}`, { testid: "overdue-reports-card" })}`);
  return { evaluations, reports };
}
