// Register: the agreements table with filters (in the address: #/register?status=ACTIVE&year=2024…).
import { get } from "../api.js";
import { html } from "../dom.js";
import { formatNumber } from "../format.js";
import { label, t } from "../i18n.js";
import { agreementTable, hashQuery, pager } from "./common.js";

export const STATUSES = ["DRAFT", "SUBMITTED", "UNDER_REVIEW", "AWAITING_DPRD", "AWAITING_CENTRAL", "READY_TO_SIGN",
  "SIGNED", "ACTIVE", "EXPIRED", "TERMINATED", "REJECTED", "CANCELLED"];
export const PUBLIC_STATUSES = ["SIGNED", "ACTIVE", "EXPIRED", "TERMINATED"];
const CATEGORIES = ["KSDD", "KSDPK", "KSDPL", "KSDLL", "SINERGI"];
const SORTS = ["-start_date", "start_date", "end_date", "-end_date", "title", "-progress", "-updated_at"];
const FILTERS = ["status", "category", "year", "scope", "document_kind", "parent_changed", "q", "sort"];
const PER_PAGE = 20;

function select(name, testid, options, selected, { all = true } = {}) {
  return html`<select id="f-${name}" name="${name}" data-testid="${testid}">
    ${all ? html`<option value="">${t("common.all")}</option>` : ""}
    ${options.map(([value, text]) => html`<option value="${value}" ${String(selected) === String(value) ? html`selected` : ""}>${text}</option>`)}
  </select>`;
}

export async function register(el, ctx) {
  const q = ctx.query;
  const filters = Object.fromEntries(FILTERS.map((name) => [name, q.get(name) || ""]));
  const page = Math.max(1, Number(q.get("page")) || 1);
  const [result, stats] = await Promise.all([
    get("/agreements", { ...filters, page, per_page: PER_PAGE }),
    get("/stats/overview").catch(() => ({})),
  ]);
  const statuses = ctx.role === "publik" ? PUBLIC_STATUSES : STATUSES;
  const years = Object.keys((stats.agreements || {}).by_year || {}).sort().reverse();
  if (filters.year && !years.includes(filters.year)) years.unshift(filters.year);

  el.innerHTML = String(html`<div class="page-head">
      <h1>${t("register.title")}</h1>
      <p class="muted"><strong data-testid="register-total" data-value="${result.total}">${t("register.total", { n: formatNumber(result.total) })}</strong></p>
    </div>
    <form class="card filters" data-testid="register-filters" role="search">
      <div class="field"><label for="f-status">${t("filter.status")}</label>
        ${select("status", "filter-status", statuses.map((s) => [s, label("status", s)]), filters.status)}</div>
      <div class="field"><label for="f-category">${t("filter.category")}</label>
        ${select("category", "filter-category", CATEGORIES.map((c) => [c, label("category", c)]), filters.category)}</div>
      <div class="field"><label for="f-year">${t("filter.year")}</label>
        ${select("year", "filter-year", years.map((y) => [y, y]), filters.year)}</div>
      <div class="field"><label for="f-scope">${t("filter.scope")}</label>
        ${select("scope", "filter-scope", ["dalam_negeri", "luar_negeri"].map((s) => [s, label("scope", s)]), filters.scope)}</div>
      <div class="field"><label for="f-document_kind">${t("filter.document_kind")}</label>
        ${select("document_kind", "filter-document-kind", ["KB", "PKS"].map((d) => [d, label("doc", d)]), filters.document_kind)}</div>
      ${ctx.role === "publik" ? "" : html`<div class="field"><label for="f-parent_changed">${t("filter.parent_changed")}</label>
        ${select("parent_changed", "filter-parent-changed", [["true", t("common.yes")], ["false", t("common.no")]], filters.parent_changed)}</div>`}
      <div class="field field-wide"><label for="f-q">${t("filter.q")}</label>
        <input id="f-q" name="q" type="search" maxlength="100" value="${filters.q}" placeholder="${t("filter.q_placeholder")}" data-testid="filter-q"></div>
      <div class="field"><label for="f-sort">${t("filter.sort")}</label>
        ${select("sort", "filter-sort", SORTS.map((s) => [s, t(`sort.${s}`)]), filters.sort || "-start_date", { all: false })}</div>
      <div class="field field-actions">
        <button type="submit" class="button button-primary" data-testid="filter-apply">${t("common.apply")}</button>
        <a class="button" href="#/register" data-testid="filter-reset">${t("common.reset")}</a>
      </div>
    </form>
    ${agreementTable(result.items)}
    ${pager(result, (n) => `#/register${hashQuery({ ...filters, page: n })}`)}`);

  const form = el.querySelector("form");
  const apply = () => {
    const data = new FormData(form);
    const values = Object.fromEntries(FILTERS.map((name) => [name, (data.get(name) || "").toString().trim()]));
    if (values.sort === "-start_date") values.sort = "";
    ctx.navigate(`/register${hashQuery(values)}`);
  };
  form.addEventListener("submit", (event) => { event.preventDefault(); apply(); });
  form.querySelectorAll("select").forEach((s) => s.addEventListener("change", apply));
  return result;
}
