// Pieces shared by the views: messages, badges, tables, the pager, definition lists.
import { ApiError } from "../api.js";
import { progressBar } from "../charts.js";
import { html } from "../dom.js";
import { formatDate, formatNumber, formatScore } from "../format.js";
import { label, t } from "../i18n.js";
import { opdName } from "../vocab.js";

export const enc = encodeURIComponent;

export function message(kind, text, { testid = `message-${kind}`, action = "" } = {}) {
  return html`<div class="message message-${kind}" role="${kind === "error" ? "alert" : "status"}" data-testid="${testid}">
    <p>${text}</p>${action}</div>`;
}

/** The message for a failed load: 401 → sign in again, 403 → not for this role, 404, or the error. */
export function errorMessage(err, role) {
  if (err instanceof ApiError && err.status === 401) {
    return message("unauthorized", t("common.unauthorized"),
      { action: html`<p><a class="button" href="#/access">${t("common.signin")}</a></p>` });
  }
  if (err instanceof ApiError && err.status === 403) return forbidden(role);
  if (err instanceof ApiError && err.status === 404) return message("info", t("common.not_found"), { testid: "message-not-found" });
  const cid = err && err.problem && err.problem.correlation_id;
  return message("error", t("common.error", { detail: err && err.message ? err.message : String(err) }),
    { action: cid ? html`<p class="muted">${t("common.correlation", { id: cid })}</p>` : "" });
}

export function forbidden(role) {
  return message("forbidden", t("common.forbidden", { role: label("role", role || "?") }));
}

export function statusBadge(status, group = "status") {
  return html`<span class="badge badge-${group} badge-${String(status || "").toLowerCase()}">${label(group, status)}</span>`;
}

export function stars(rating) {
  if (!rating) return "";
  const n = Math.max(0, Math.min(5, Number(rating)));
  return html`<span class="stars" role="img" aria-label="${t("rating.label", { n })}" title="${t("rating.label", { n })}">${"★".repeat(n)}<span class="stars-off">${"★".repeat(5 - n)}</span></span>`;
}

export function partnerLinks(partners) {
  return (partners || []).map((p, i) => html`${i ? ", " : ""}<a href="#/partner/${enc(p.id)}">${p.name}</a>`);
}

export function opdLink(code) {
  return code ? html`<a href="#/opd/${enc(code)}" title="${code}">${opdName(code)}</a>` : t("common.none");
}

export function term(item) {
  return html`<span class="nowrap">${formatDate(item.start_date)}</span> – <span class="nowrap">${formatDate(item.end_date)}</span>`;
}

/** The register table; every row has data-testid="register-row" (or ``rowTestid``). */
export function agreementTable(items, { rowTestid = "register-row", extra = null, testid = "agreement-table" } = {}) {
  if (!items.length) return message("info", t("common.empty"), { testid: "message-empty" });
  const extraHead = extra ? html`<th scope="col">${extra.header}</th>` : "";
  const rows = items.map((item) => html`<tr data-testid="${rowTestid}" data-id="${item.id}">
      <td data-label="${t("col.title")}" class="cell-title"><a href="#/agreement/${enc(item.id)}">${item.title}</a>
        <div class="muted small">${label("doc", item.document_kind)}${item.expiring_within_90_days ? html` · <span class="flag flag-warn">${t("flag.expiring")}</span>` : ""}${item.report_overdue ? html` · <span class="flag flag-bad">${t("flag.report_overdue")}</span>` : ""}${item.parent_changed ? html` · <span class="flag flag-bad" data-testid="row-flag-parent-changed">${t("flag.parent_changed")}</span>` : ""}</div></td>
      <td data-label="${t("col.category")}">${label("category", item.category)}</td>
      <td data-label="${t("col.partners")}">${partnerLinks(item.partners)}</td>
      <td data-label="${t("col.opd")}">${opdLink(item.lead_opd)}</td>
      <td data-label="${t("col.status")}">${statusBadge(item.status)}</td>
      <td data-label="${t("col.period")}">${term(item)}</td>
      <td data-label="${t("col.progress")}" class="cell-progress">${progressBar(item.progress)}<span class="small">${formatNumber(item.progress || 0)}%</span></td>
      <td data-label="${t("col.score")}" class="num">${item.latest_score !== undefined && item.latest_score !== null ? html`${formatScore(item.latest_score)} ${stars(item.latest_rating)}` : t("common.none")}</td>
      ${extra ? html`<td data-label="${extra.header}">${extra.cell(item)}</td>` : ""}
    </tr>`);
  return html`<div class="table-wrap"><table class="table table-cards" data-testid="${testid}">
    <thead><tr><th scope="col">${t("col.title")}</th><th scope="col">${t("col.category")}</th><th scope="col">${t("col.partners")}</th>
      <th scope="col">${t("col.opd")}</th><th scope="col">${t("col.status")}</th><th scope="col">${t("col.period")}</th>
      <th scope="col">${t("col.progress")}</th><th scope="col">${t("col.score")}</th>${extraHead}</tr></thead>
    <tbody>${rows}</tbody></table></div>`;
}

/** Previous/next links for a page of results; ``hrefFor(page)`` builds each link. */
export function pager({ page, per_page: perPage, total }, hrefFor) {
  const pages = Math.max(1, Math.ceil(total / perPage));
  if (pages <= 1) return "";
  return html`<nav class="pager" aria-label="${t("common.page", { page, pages })}" data-testid="pager">
    ${page > 1 ? html`<a class="button" rel="prev" href="${hrefFor(page - 1)}" data-testid="pager-prev">‹ ${t("common.prev")}</a>` : html`<span></span>`}
    <span class="muted">${t("common.page", { page, pages })}</span>
    ${page < pages ? html`<a class="button" rel="next" href="${hrefFor(page + 1)}" data-testid="pager-next">${t("common.next")} ›</a>` : html`<span></span>`}
  </nav>`;
}

/** A definition list of [label, value] pairs; pairs whose value is empty are left out. */
export function details(pairs, testid = "details") {
  const shown = pairs.filter(([, value]) => value !== null && value !== undefined && value !== "" && !(Array.isArray(value) && !value.length));
  return html`<dl class="details" data-testid="${testid}">${shown.map(([name, value]) => html`<div><dt>${name}</dt><dd>${value}</dd></div>`)}</dl>`;
}

export function card(title, body, { testid = "", extraClass = "" } = {}) {
  return html`<section class="card ${extraClass}" ${testid ? html`data-testid="${testid}"` : ""}>
    ${title ? html`<h2>${title}</h2>` : ""}${body}</section>`;
}

export function metric(name, value, { testid = "", raw: rawValue = null, hint = "" } = {}) {
  return html`<div class="metric"><div class="metric-value" ${testid ? html`data-testid="${testid}"` : ""} data-value="${rawValue ?? ""}">${value}</div>
    <div class="metric-label">${name}</div>${hint ? html`<div class="metric-hint muted">${hint}</div>` : ""}</div>`;
}

/** A query string for a hash route from a plain object (empty values dropped). */
export function hashQuery(params) {
  const q = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    for (const v of Array.isArray(value) ? value : [value]) {
      if (v !== undefined && v !== null && v !== "") q.append(name, v);
    }
  }
  const s = q.toString();
  return s ? `?${s}` : "";
}
