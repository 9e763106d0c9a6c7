// Jalin dashboard: hash routing, the page chrome (navigation, language switch, role) and views.
import { claims, currentRole, getToken, isExpired, takeTokenFromUrl } from "./auth.js";
import { html } from "./dom.js";
import { LANGUAGES, applyStatic, label, lang, setLang, t } from "./i18n.js";
import { access } from "./views/access.js";
import { agreement } from "./views/agreement.js";
import { errorMessage, message } from "./views/common.js";
import { expiring, overdue } from "./views/lists.js";
import { overview } from "./views/overview.js";
import { opd, opds, partner, partners } from "./views/portfolio.js";
import { register } from "./views/register.js";
import { loadVocabularies } from "./vocab.js";

const ROUTES = [
  { name: "overview", pattern: /^\/?$/, view: overview, nav: "overview", title: "nav.overview" },
  { name: "register", pattern: /^\/register$/, view: register, nav: "register", title: "nav.register" },
  { name: "agreement", pattern: /^\/agreement\/([^/]+)$/, view: agreement, nav: "register", title: "nav.register" },
  { name: "expiring", pattern: /^\/expiring$/, view: expiring, nav: "expiring", title: "nav.expiring" },
  { name: "overdue", pattern: /^\/overdue$/, view: overdue, nav: "overdue", title: "nav.overdue" },
  { name: "partners", pattern: /^\/partners$/, view: partners, nav: "partners", title: "nav.partners" },
  { name: "partner", pattern: /^\/partner\/([^/]+)$/, view: partner, nav: "partners", title: "nav.partners" },
  { name: "opds", pattern: /^\/opds$/, view: opds, nav: "opds", title: "nav.opds" },
  { name: "opd", pattern: /^\/opd\/([^/]+)$/, view: opd, nav: "opds", title: "nav.opds" },
  { name: "access", pattern: /^\/access$/, view: access, nav: "access", title: "nav.access", open: true },
];

const main = document.getElementById("main");
let sequence = 0;
let firstRender = true;

function parseHash() {
  const raw = window.location.hash.replace(/^#/, "") || "/";
  const at = raw.indexOf("?");
  const path = at < 0 ? raw : raw.slice(0, at);
  return { path: path || "/", query: new URLSearchParams(at < 0 ? "" : raw.slice(at + 1)) };
}

function navigate(path) {
  const target = `#${path}`;
  if (window.location.hash === target) render();
  else window.location.hash = target;
}

function authChanged(path) {
  updateChrome();
  navigate(path);
}

function setNavOpen(open) {
  document.body.classList.toggle("nav-open", open);
  const toggle = document.querySelector('[data-testid="nav-toggle"]');
  if (toggle) toggle.setAttribute("aria-expanded", String(open));
}

/** Header and navigation: language buttons, the role badge, the public notice, the current link. */
function updateChrome(route) {
  applyStatic();
  document.querySelectorAll("[data-lang]").forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.lang === lang())));
  const c = claims();
  const badge = document.querySelector('[data-testid="role-badge"]');
  if (badge) {
    badge.textContent = c && c.role ? label("role", c.role) + (c.opd ? ` · ${c.opd}` : "") : t("common.signin");
    badge.dataset.role = (c && c.role) || "";
  }
  const notice = document.getElementById("notice");
  if (notice) {
    notice.hidden = currentRole() !== "publik";
    notice.textContent = t("common.publik_notice");
  }
  if (route) {
    document.querySelectorAll("#nav a[data-route]").forEach((a) => {
      if (a.dataset.route === route.nav) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
    });
    document.title = `${t(route.title)} · Jalin — ${t("app.title")}`;
  }
}

async function render() {
  const mine = ++sequence;
  const { path, query } = parseHash();
  const route = ROUTES.find((r) => r.pattern.test(path));
  setNavOpen(false);
  if (!route) {
    main.dataset.view = "not-found";
    main.dataset.state = "ready";
    main.innerHTML = String(message("info", t("common.not_found"), { testid: "message-not-found" }));
    main.dataset.renders = String(Number(main.dataset.renders || 0) + 1);
    return;
  }
  updateChrome(route);
  const params = path.match(route.pattern).slice(1).map((p) => decodeURIComponent(p));
  let view = route;
  let reason = "";
  if (!route.open && (!getToken() || isExpired())) {
    view = ROUTES.find((r) => r.name === "access");
    reason = getToken() ? t("common.unauthorized") : t("common.no_token");
  }
  main.dataset.view = view.name;
  main.dataset.state = "loading";
  main.setAttribute("aria-busy", "true");
  main.innerHTML = String(html`<p class="loading" data-testid="loading">${t("common.loading")}</p>`);

  const container = document.createElement("div");
  container.className = `view view-${view.name}`;
  const ctx = { params, query, role: currentRole(), navigate, authChanged, reason };
  let state = "ready";
  try {
    if (getToken() && !isExpired()) await loadVocabularies();  // names instead of codes
    await view.view(container, ctx);
  } catch (err) {
    state = "error";
    container.innerHTML = String(errorMessage(err, ctx.role));
  }
  if (mine !== sequence) return; // a newer navigation won
  main.replaceChildren(container);
  main.dataset.state = state;
  main.dataset.renders = String(Number(main.dataset.renders || 0) + 1); // lets tests wait for a new render
  main.removeAttribute("aria-busy");
  if (!firstRender) {
    window.scrollTo(0, 0);
    main.focus({ preventScroll: true });
  }
  firstRender = false;
}

function start() {
  const { lang: requested } = takeTokenFromUrl();
  setLang(LANGUAGES.includes(requested) ? requested : lang());
  document.querySelectorAll("[data-lang]").forEach((button) => button.addEventListener("click", () => {
    if (button.dataset.lang === lang()) return;
    setLang(button.dataset.lang);
    render();
  }));
  const toggle = document.querySelector('[data-testid="nav-toggle"]');
  toggle.addEventListener("click", () => setNavOpen(!document.body.classList.contains("nav-open")));
  document.addEventListener("keydown", (event) => { if (event.key === "Escape") setNavOpen(false); });
  document.querySelector(".nav-backdrop").addEventListener("click", () => setNavOpen(false));
  document.querySelectorAll("#nav a").forEach((a) => a.addEventListener("click", () => setNavOpen(false)));
  window.addEventListener("hashchange", render);
  window.addEventListener("storage", (event) => { if (event.key === "jalin.token") authChanged(parseHash().path); });
  render();
}

start();
