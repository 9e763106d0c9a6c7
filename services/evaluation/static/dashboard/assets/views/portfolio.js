// Partners and regional agencies (OPD): lists, one partner's / one OPD's page with its portfolio
// (GET /api/v1/portfolios/...) and its agreements (GET /api/v1/agreements?partner= / ?opd=).
import { get, tryGet } from "../api.js";
import { barChart } from "../charts.js";
import { html } from "../dom.js";
import { formatNumber, formatPercent, formatScore } from "../format.js";
import { label, t } from "../i18n.js";
import { agreementTable, card, details, enc, hashQuery, message, metric, pager, statusBadge } from "./common.js";

const PER_PAGE = 50;
const KINDS = ["daerah_lain", "pihak_ketiga", "pemda_luar_negeri", "lembaga_luar_negeri", "pemerintah_pusat"];

function portfolioMetrics(p) {
  if (!p || p.notFound || p.forbidden) return message("info", t("portfolio.none"), { testid: "portfolio-empty" });
  const categories = Object.entries(p.by_category || {}).map(([key, value]) => ({ key, value, label: label("category", key) }));
  return html`<div class="metrics metrics-small" data-testid="portfolio">
      ${metric(t("portfolio.agreements"), formatNumber(p.agreements), { testid: "portfolio-agreements", raw: p.agreements })}
      ${metric(t("portfolio.active"), formatNumber(p.active), { testid: "portfolio-active", raw: p.active })}
      ${metric(t("portfolio.signed"), formatNumber(p.signed_or_later), { testid: "portfolio-signed", raw: p.signed_or_later })}
      ${metric(t("portfolio.avg_score"), formatScore(p.average_score), { testid: "portfolio-score", raw: p.average_score ?? "" })}
      ${metric(t("portfolio.avg_progress"), formatPercent(p.average_progress), { testid: "portfolio-progress", raw: p.average_progress ?? "" })}
    </div>
    ${categories.length ? html`<h3>${t("portfolio.by_category")}</h3>${barChart(categories, { title: t("portfolio.by_category") })}` : ""}`;
}

/** The partner's read-model entry (found by name, else by scanning the list). */
async function findPartner(id, name) {
  if (name) {
    const found = await get("/partners", { q: name.slice(0, 100), per_page: 200 });
    const match = found.items.find((p) => p.id === id);
    if (match) return match;
  }
  for (let page = 1; page <= 25; page += 1) {
    const list = await get("/partners", { per_page: 200, page });
    const match = list.items.find((p) => p.id === id);
    if (match || page * 200 >= list.total) return match || null;
  }
  return null;
}

export async function partner(el, ctx) {
  const id = ctx.params[0];
  const page = Math.max(1, Number(ctx.query.get("page")) || 1);
  const [portfolio, agreements] = await Promise.all([
    tryGet(`/portfolios/partners/${enc(id)}`),
    get("/agreements", { partner: id, per_page: PER_PAGE, page }),
  ]);
  const profile = await findPartner(id, portfolio && portfolio.name);
  const publik = ctx.role === "publik";
  const name = (profile && profile.name) || (portfolio && portfolio.name) || id;
  const p = profile || {};
  const website = p.website && /^https?:\/\//i.test(p.website) ? html`<a href="${p.website}" rel="noopener noreferrer" target="_blank">${p.website}</a>` : null;
  const address = !publik && p.address ? Object.values(p.address).filter(Boolean).join(", ") : null;
  const identifiers = !publik && p.identifiers ? Object.entries(p.identifiers).map(([k, v]) => `${k.toUpperCase()} ${v}`).join(" · ") : null;
  const facts = details([
    [t("field.kind"), p.kind ? label("kind", p.kind) : null],
    [t("field.subtype"), p.subtype ? label("subtype", p.subtype) : null],
    [t("field.status"), p.status ? statusBadge(p.status, "partnerstatus") : null],
    [t("field.scope"), p.cooperation_scope ? label("scope", p.cooperation_scope) : null],
    [t("field.country"), p.country],
    [t("field.region_code"), p.region_code],
    [t("field.website"), website],
    [t("field.address"), address],
    [t("field.identifiers"), identifiers],
    [t("field.description"), publik ? null : p.description],
  ], "partner-details");
  // Contact persons are personal data: shown to staff only (the API leaves them out for the public).
  let contacts = "";
  if (!publik) {
    const people = Array.isArray(p.contacts) ? p.contacts : [];
    contacts = card(t("partner.contacts"), people.length ? html`<ul class="plain-list" data-testid="partner-contacts">${people.map((c) => html`<li>
        <strong>${c.name}</strong>${c.position ? html` — ${c.position}` : ""}
        ${c.phone ? html`<div class="small">${c.phone}</div>` : ""}${c.email ? html`<div class="small">${c.email}</div>` : ""}</li>`)}</ul>`
      : html`<p class="muted">${t("partner.no_contacts")}</p>`);
  }

  el.innerHTML = String(html`<nav class="breadcrumbs" aria-label="${t("nav.breadcrumbs")}"><a href="#/partners">${t("nav.partners")}</a> ›</nav>
    <div class="page-head"><h1 data-testid="partner-name">${name}</h1></div>
    <div class="columns">
      <div class="col-main">${card(t("partner.portfolio"), portfolioMetrics(portfolio))}</div>
      <div class="col-side">${card(t("partner.profile"), facts)}${contacts}</div>
    </div>
    ${card(t("partner.agreements"), html`${agreementTable(agreements.items)}
      ${pager(agreements, (n) => `#/partner/${enc(id)}${hashQuery({ page: n })}`)}`)}`);
  return { profile, portfolio, agreements };
}

export async function partners(el, ctx) {
  const q = ctx.query.get("q") || "";
  const kind = ctx.query.get("kind") || "";
  const page = Math.max(1, Number(ctx.query.get("page")) || 1);
  const [list, portfolios] = await Promise.all([
    get("/partners", { q, kind, page, per_page: PER_PAGE, sort: "name" }),
    tryGet("/portfolios/partners"),
  ]);
  const byId = Object.fromEntries(((portfolios && portfolios.items) || []).map((p) => [p.id, p]));
  const rows = list.items.map((p) => {
    const pf = byId[p.id] || {};
    return html`<tr data-testid="partner-row" data-id="${p.id}">
      <td data-label="${t("col.name")}" class="cell-title"><a href="#/partner/${enc(p.id)}">${p.name}</a></td>
      <td data-label="${t("col.kind")}">${label("kind", p.kind)}${p.subtype ? html`<div class="muted small">${label("subtype", p.subtype)}</div>` : ""}</td>
      <td data-label="${t("col.status")}">${statusBadge(p.status, "partnerstatus")}</td>
      <td data-label="${t("col.origin")}">${[p.country, p.region_code].filter(Boolean).join(" · ")}</td>
      <td data-label="${t("col.agreements")}" class="num">${formatNumber(pf.agreements || 0)}</td>
      <td data-label="${t("col.active")}" class="num">${formatNumber(pf.active || 0)}</td>
      <td data-label="${t("col.avg_score")}" class="num">${formatScore(pf.average_score)}</td></tr>`;
  });
  el.innerHTML = String(html`<div class="page-head"><h1>${t("partner.list_title")}</h1>
      <p class="muted">${formatNumber(list.total)}</p></div>
    <form class="card filters" role="search" data-testid="partner-filters">
      <div class="field field-wide"><label for="p-q">${t("partner.search")}</label>
        <input id="p-q" name="q" type="search" maxlength="100" value="${q}" data-testid="partner-q"></div>
      <div class="field"><label for="p-kind">${t("field.kind")}</label>
        <select id="p-kind" name="kind" data-testid="partner-kind"><option value="">${t("common.all")}</option>
        ${KINDS.map((k) => html`<option value="${k}" ${k === kind ? html`selected` : ""}>${label("kind", k)}</option>`)}</select></div>
      <div class="field field-actions"><button class="button button-primary" type="submit">${t("common.apply")}</button></div>
    </form>
    ${list.items.length ? html`<div class="table-wrap"><table class="table table-cards" data-testid="partner-table">
      <thead><tr><th scope="col">${t("col.name")}</th><th scope="col">${t("col.kind")}</th><th scope="col">${t("col.status")}</th>
        <th scope="col">${t("col.origin")}</th><th scope="col">${t("col.agreements")}</th><th scope="col">${t("col.active")}</th>
        <th scope="col">${t("col.avg_score")}</th></tr></thead><tbody>${rows}</tbody></table></div>` : message("info", t("common.empty"))}
    ${pager(list, (n) => `#/partners${hashQuery({ q, kind, page: n })}`)}`);
  const form = el.querySelector("form");
  const apply = () => {
    const data = new FormData(form);
    ctx.navigate(`/partners${hashQuery({ q: (data.get("q") || "").toString().trim(), kind: data.get("kind") })}`);
  };
  form.addEventListener("submit", (event) => { event.preventDefault(); apply(); });
  form.querySelector("select").addEventListener("change", apply);
  return list;
}

export async function opds(el) {
  const list = await get("/portfolios/opds");
  const rows = list.items.map((o) => html`<tr data-testid="opd-row" data-id="${o.id}">
      <td data-label="${t("col.code")}" class="cell-title"><a href="#/opd/${enc(o.id)}">${o.name || o.id}</a></td>
      <td data-label="${t("col.agreements")}" class="num">${formatNumber(o.agreements)}</td>
      <td data-label="${t("col.active")}" class="num">${formatNumber(o.active)}</td>
      <td data-label="${t("col.avg_score")}" class="num">${formatScore(o.average_score)}</td>
      <td data-label="${t("col.avg_progress")}" class="num">${formatPercent(o.average_progress)}</td>
      <td data-label="${t("col.category")}">${Object.entries(o.by_category || {}).map(([k, v]) => `${k} ${v}`).join(" · ")}</td></tr>`);
  el.innerHTML = String(html`<div class="page-head"><h1>${t("opd.list_title")}</h1></div>
    ${list.items.length ? html`<div class="table-wrap"><table class="table table-cards" data-testid="opd-table">
      <thead><tr><th scope="col">${t("col.code")}</th><th scope="col">${t("col.agreements")}</th><th scope="col">${t("col.active")}</th>
      <th scope="col">${t("col.avg_score")}</th><th scope="col">${t("col.avg_progress")}</th><th scope="col">${t("col.category")}</th></tr></thead>
      <tbody>${rows}</tbody></table></div>` : message("info", t("common.empty"))}`);
  return list;
}

export async function opd(el, ctx) {
  const code = ctx.params[0];
  const page = Math.max(1, Number(ctx.query.get("page")) || 1);
  const [portfolio, agreements] = await Promise.all([
    tryGet(`/portfolios/opds/${enc(code)}`),
    get("/agreements", { opd: code, per_page: PER_PAGE, page }),
  ]);
  el.innerHTML = String(html`<nav class="breadcrumbs" aria-label="${t("nav.breadcrumbs")}"><a href="#/opds">${t("nav.opds")}</a> ›</nav>
    <div class="page-head"><h1 data-testid="opd-name">${t("opd.title", { code })}</h1></div>
    ${card(t("partner.portfolio"), portfolioMetrics(portfolio))}
    ${card(t("opd.agreements"), html`${agreementTable(agreements.items)}
      ${pager(agreements, (n) => `#/opd/${enc(code)}${hashQuery({ page: n })}`)}`)}`);
  return { portfolio, agreements };
}
