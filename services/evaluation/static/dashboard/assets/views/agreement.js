// One agreement: details, parties, work plan progress, latest evaluation and the timeline of events
// (GET /api/v1/agreements/{id}, /api/v1/feed?subject={id}, /api/v1/evaluations?agreement={id}).
import { get, tryGet } from "../api.js";
import { progressBar } from "../charts.js";
import { html } from "../dom.js";
import { formatDate, formatDateTime, formatMoney, formatNumber, formatScore } from "../format.js";
import { label, t } from "../i18n.js";
import { card, details, enc, forbidden, message, opdLink, stars, statusBadge } from "./common.js";
import { fundingName, urusanName } from "../vocab.js";

const FOREIGN = ["KSDPL", "KSDLL"];
const TIMELINE_PAGE = 50;

function scopeOf(item) {
  if (item.scope === "dalam_negeri" || item.scope === "luar_negeri") return item.scope;
  return FOREIGN.includes(item.category) ? "luar_negeri" : "dalam_negeri";
}

function yesNo(value) {
  if (value === null || value === undefined) return null;
  return value ? t("common.yes") : t("common.no");
}

function summaryOf(entry) {
  const s = entry.summary || {};
  const bits = [];
  if (s.addendum_no) bits.push(t("timeline.addendum", { n: s.addendum_no }));
  const statusGroup = entry.event_type && entry.event_type.startsWith("agreement.addendum_") ? "addstatus" : "status";
  if (s.next_status) bits.push(t("timeline.next_status", { status: label(statusGroup, s.next_status) }));
  if (s.recommended !== undefined) bits.push(s.recommended ? t("timeline.recommended") : t("timeline.not_recommended"));
  if (s.signed_on) bits.push(t("timeline.signed_on", { date: formatDate(s.signed_on) }));
  if (s.approval_ref) bits.push(s.approval_ref);
  if (s.activity_id) bits.push(t("timeline.activity", { id: s.name || s.activity_id }));
  if (s.period) {
    const period = entry.stream_type === "evaluation" ? `${label("period", s.period)}${s.year ? ` ${s.year}` : ""}` : s.period;
    bits.push(t("timeline.period", { period }));
  }
  if (s.realisation !== undefined) bits.push(t("timeline.realisation", { value: formatNumber(s.realisation) }));
  if (s.overall !== undefined) bits.push(t("timeline.score", { overall: formatScore(s.overall), rating: s.rating ?? "–" }));
  if (s.kind && entry.event_type === "agreement.document_attached") bits.push(s.kind.replace(/_/g, " "));
  if (s.changed && s.changed.length) bits.push(t("timeline.changed", { fields: s.changed.join(", ") }));
  if (s.reason) bits.push(t("timeline.reason", { reason: s.reason }));
  return bits.join(" · ");
}

function timelineEntries(items) {
  return items.map((entry) => {
    const who = entry.actor && entry.actor.role ? t("timeline.by", { role: label("role", entry.actor.role) })
      + (entry.actor.name ? ` (${entry.actor.name})` : "") : "";
    return html`<li class="timeline-entry timeline-${entry.stream_type}" data-testid="timeline-entry" data-event-type="${entry.event_type}">
      <time datetime="${entry.occurred_at}">${formatDateTime(entry.occurred_at)}</time>
      <div class="timeline-title">${label("ev", entry.event_type)}</div>
      <div class="timeline-meta muted small">${[who, summaryOf(entry)].filter(Boolean).join(" · ")}</div>
    </li>`;
  });
}

function workPlan(item) {
  const activities = item.activities || [];
  if (!activities.length) return message("info", t("agreement.workplan_empty"), { testid: "workplan-empty" });
  return html`<div class="overall-progress"><span>${t("agreement.overall_progress")}</span>
      ${progressBar(item.progress, { testid: "overall-progress" })}<strong>${formatNumber(item.progress || 0)}%</strong></div>
    <div class="table-wrap"><table class="table table-cards" data-testid="workplan">
      <thead><tr><th scope="col">${t("col.activity")}</th><th scope="col">${t("col.responsible")}</th>
        <th scope="col">${t("col.target")}</th><th scope="col">${t("col.realisation")}</th>
        <th scope="col">${t("col.last_period")}</th><th scope="col">${t("col.progress")}</th></tr></thead>
      <tbody>${activities.map((a) => html`<tr data-testid="activity-row" data-id="${a.activity_id}">
        <td data-label="${t("col.activity")}">${a.name || a.activity_id}${a.budget ? html`<div class="muted small">${t("col.budget")}: ${formatMoney(a.budget)}</div>` : ""}</td>
        <td data-label="${t("col.responsible")}">${opdLink(a.responsible_opd)}</td>
        <td data-label="${t("col.target")}" class="num">${formatNumber(a.target)} ${a.unit || ""}</td>
        <td data-label="${t("col.realisation")}" class="num">${a.realisation === null || a.realisation === undefined ? t("common.none") : `${formatNumber(a.realisation)} ${a.unit || ""}`}</td>
        <td data-label="${t("col.last_period")}">${a.last_period || t("common.none")}</td>
        <td data-label="${t("col.progress")}" class="cell-progress">${progressBar(a.progress, { testid: "activity-progress" })}<span class="small">${formatNumber(a.progress || 0)}%</span></td>
      </tr>`)}</tbody></table></div>`;
}

// The addenda and where each stands (drafted, reviewed, approved again, signed, withdrawn, rejected).
function addendaCard(item) {
  const addenda = item.addenda || [];
  if (!addenda.length) return card(t("agreement.addenda"), html`<p class="muted" data-testid="addenda-empty">${t("agreement.addenda_empty")}</p>`, { testid: "addenda-card" });
  const rows = addenda.map((a) => {
    const steps = [a.substantive ? t("agreement.step_tkksd") : null, a.dprd_required ? t("agreement.step_dprd") : null,
      a.central_required ? t("agreement.step_central") : null].filter(Boolean);
    const meta = [a.changed && a.changed.length ? t("agreement.addendum_changed", { fields: a.changed.join(", ") }) : null,
      a.substantive === false ? t("agreement.addendum_editorial") : (steps.length ? t("agreement.addendum_needs", { steps: steps.join(", ") }) : null),
      a.signed_on ? t("agreement.addendum_signed", { date: formatDate(a.signed_on), number: a.number || "–" }) : null].filter(Boolean);
    return html`<li data-testid="addendum-row" data-no="${a.addendum_no}" data-status="${a.status}">
      <strong>${t("agreement.addendum_no", { n: a.addendum_no })}</strong> ${statusBadge(a.status, "addstatus")}
      <div class="muted small">${meta.join(" · ")}</div></li>`;
  });
  return card(t("agreement.addenda"), html`<ul class="plain-list" data-testid="addenda">${rows}</ul>`, { testid: "addenda-card" });
}

function evaluationCard(item, evaluations) {
  const latest = item.latest_evaluation;
  const score = item.latest_score;
  const head = score === null || score === undefined
    ? html`<p class="muted" data-testid="latest-score" data-value="">${t("agreement.no_score")}</p>`
    : html`<div class="score"><span class="score-value" data-testid="latest-score" data-value="${score}">${formatScore(score)}</span>
        <span class="score-of muted">/ 100</span> ${stars(item.latest_rating)}</div>`;
  const status = latest ? html`<p class="small">${t("agreement.latest_status", { period: label("period", latest.period), year: latest.year || "", status: label("evalstatus", latest.status) })}</p>` : "";
  let list = "";
  if (evaluations && evaluations.items && evaluations.items.length) {
    list = html`<div class="table-wrap"><table class="table compact" data-testid="evaluations">
      <thead><tr><th scope="col">${t("col.eval_period")}</th><th scope="col">${t("col.status")}</th><th scope="col">${t("col.due")}</th><th scope="col">${t("col.score")}</th></tr></thead>
      <tbody>${evaluations.items.map((ev) => html`<tr data-testid="evaluation-row">
        <td>${label("period", ev.period)} ${ev.year}</td><td>${statusBadge(ev.status, "evalstatus")}${ev.overdue ? html` <span class="flag flag-bad">${t("flag.overdue")}</span>` : ""}</td>
        <td class="nowrap">${formatDate(ev.due_date)}</td><td class="num">${ev.overall !== undefined && ev.overall !== null ? html`${formatScore(ev.overall)} ${stars(ev.rating)}` : t("common.none")}</td></tr>`)}</tbody></table></div>`;
  }
  return card(t("agreement.evaluation"), html`${head}${status}${list}`, { testid: "evaluation-card" });
}

/** The changes of its KB recorded on a PKS, newest first: what changed, whether the PKS now lies outside the
 * KB, and the acknowledgement (with its note) that cleared the review flag. */
function kbValue(field, value) {
  if (field === "status") return label("status", value);
  if (field.endsWith("_date")) return formatDate(value);
  return Array.isArray(value) ? value.join(", ") : String(value);
}

function parentChanges(changes) {
  return html`<ul class="plain-list" data-testid="parent-changes">${changes.slice().reverse().map((c) => html`<li data-testid="parent-change" data-outside="${c.outside_kb}">
      ${t(`ev.${c.cause_event_type}`)}: ${Object.entries(c.changes || {}).map(([field, v], i) => html`${i ? "; " : ""}${t(`kbchange.${field}`)} ${kbValue(field, v.before)} → ${kbValue(field, v.after)}`)}
      ${c.outside_kb ? html` · <span class="flag flag-bad">${t("kbchange.outside")}</span>` : html` · <span class="muted">${t("kbchange.inside")}</span>`}
      ${c.acknowledged ? html`<div class="muted small">${t("kbchange.acknowledged")}: ${c.acknowledged.note}</div>` : ""}</li>`)}</ul>`;
}

export async function agreement(el, ctx) {
  const id = ctx.params[0];
  const staff = ctx.role !== "publik";
  const [item, feed, evaluations] = await Promise.all([
    get(`/agreements/${enc(id)}`),
    staff ? tryGet("/feed", { subject: id, per_page: TIMELINE_PAGE }) : Promise.resolve({ forbidden: true }),
    staff ? tryGet("/evaluations", { agreement: id, per_page: 50, sort: "-due_date" }) : Promise.resolve(null),
  ]);

  const related = await Promise.all([item.parent_kb_id, item.extends_agreement_id].map((rid) => (rid
    ? tryGet(`/agreements/${enc(rid)}`).catch(() => null) : Promise.resolve(null))));
  const linkTo = (rid, found) => html`<a href="#/agreement/${enc(rid)}">${found && found.title ? found.title : rid}</a>`;
  const urusan = (item.urusan || []).map(urusanName).join("; ");
  const funding = (item.funding || []).map((f) => `${fundingName(f.source)}: ${formatMoney(f.amount)}`
    + (f.budgeted === false ? ` (${t("field.not_budgeted")})` : "")).join("; ");
  const facts = details([
    [t("field.status"), statusBadge(item.status)],
    [t("field.document_kind"), label("doc", item.document_kind)],
    [t("field.category"), label("category", item.category)],
    [t("field.ksdd_type"), item.ksdd_type ? label("ksdd", item.ksdd_type) : null],
    [t("field.our_number"), item.our_number],
    [t("field.partner_number"), item.partner_number],
    [t("field.lead_opd"), item.lead_opd ? opdLink(item.lead_opd) : null],
    [t("field.urusan"), urusan],
    [t("field.scope"), label("scope", scopeOf(item))],
    [t("field.start"), formatDate(item.start_date)],
    [t("field.end"), formatDate(item.end_date)],
    [t("field.days_to_end"), item.days_to_end === null || item.days_to_end === undefined ? null : t("common.days", { n: formatNumber(item.days_to_end) })],
    [t("field.signed_on"), item.signed_on ? formatDate(item.signed_on) : null],
    [t("field.value"), item.value ? html`<span data-testid="agreement-value">${formatMoney(item.value)}</span>` : null],
    [t("field.funding_sources"), funding || null],
    [t("field.funding"), item.funding_scheme],
    [t("field.purpose"), item.purpose],
    [t("field.location"), item.location],
    [t("field.parent_kb"), item.parent_kb_id ? linkTo(item.parent_kb_id, related[0]) : null],
    [t("field.extends"), item.extends_agreement_id ? linkTo(item.extends_agreement_id, related[1]) : null],
    [t("field.parent_changes"), (item.parent_changes || []).length ? parentChanges(item.parent_changes) : null],
    [t("field.amendments"), item.amendment_count ? formatNumber(item.amendment_count) : null],
    [t("field.documents"), item.document_count ? formatNumber(item.document_count) : null],
    [t("field.burdens_public"), yesNo(item.burdens_public)],
  ], "agreement-details");

  const partners = html`<ul class="plain-list" data-testid="agreement-partners">${(item.partners || []).map((p) => html`<li>
      <a href="#/partner/${enc(p.id)}">${p.name}</a></li>`)}</ul>`;

  let timeline;
  if (feed.forbidden) {
    timeline = html`${forbidden(ctx.role)}<p class="muted small" data-testid="timeline-forbidden">${t("agreement.timeline_forbidden")}</p>`;
  } else if (!feed.items.length) {
    timeline = html`<p class="muted" data-testid="timeline-count" data-value="0">${t("agreement.timeline_empty")}</p><ol class="timeline" data-testid="timeline"></ol>`;
  } else {
    timeline = html`<p class="muted small" data-testid="timeline-count" data-value="${feed.total}">${t("agreement.timeline_count", { n: formatNumber(feed.total) })}</p>
      <ol class="timeline" data-testid="timeline">${timelineEntries(feed.items)}</ol>
      ${feed.total > feed.items.length ? html`<button type="button" class="button" data-testid="timeline-more">${t("agreement.timeline_more")}</button>` : ""}`;
  }

  const flags = [item.expiring_within_90_days ? html`<span class="flag flag-warn" data-testid="flag-expiring">${t("flag.expiring")}</span>` : "",
    item.report_overdue ? html`<span class="flag flag-bad" data-testid="flag-report-overdue">${t("flag.report_overdue")}</span>` : "",
    item.parent_changed ? html`<span class="flag flag-bad" data-testid="flag-parent-changed">${t("flag.parent_changed")}</span>` : ""];

  el.innerHTML = String(html`<nav class="breadcrumbs" aria-label="${t("nav.breadcrumbs")}"><a href="#/register">${t("nav.register")}</a> ›</nav>
    <div class="page-head">
      <h1 data-testid="agreement-title">${item.title}</h1>
      <p class="badges">${statusBadge(item.status)} <span class="badge">${item.document_kind}</span> <span class="badge">${item.category}</span> ${flags}</p>
    </div>
    <div class="columns">
      <div class="col-main">
        ${card(t("agreement.details"), facts)}
        ${card(t("agreement.workplan"), workPlan(item), { testid: "workplan-card" })}
        ${staff ? addendaCard(item) : ""}
      </div>
      <div class="col-side">
        ${evaluationCard(item, evaluations && !evaluations.forbidden && !evaluations.notFound ? evaluations : null)}
        ${card(t("agreement.partners"), partners)}
        ${card(t("agreement.timeline"), timeline, { testid: "timeline-card" })}
      </div>
    </div>`);

  const more = el.querySelector('[data-testid="timeline-more"]');
  if (more) {
    let page = 1;
    more.addEventListener("click", async () => {
      more.disabled = true;
      page += 1;
      try {
        const next = await get("/feed", { subject: id, per_page: TIMELINE_PAGE, page });
        el.querySelector('[data-testid="timeline"]').insertAdjacentHTML("beforeend", timelineEntries(next.items).join(""));
        const shown = el.querySelectorAll('[data-testid="timeline-entry"]').length;
        if (shown >= next.total || !next.items.length) more.remove();
        else more.disabled = false;
      } catch (err) {
        more.disabled = false;
        page -= 1;
      }
    });
  }
  return item;
}
