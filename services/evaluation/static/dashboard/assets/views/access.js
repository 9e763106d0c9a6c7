// Akses: paste a token, sign out, or (local development only) "Masuk sebagai (demo)".
import { claims, demoAvailable, demoToken, getToken, isExpired, setToken } from "../auth.js";
import { html } from "../dom.js";
import { formatDateTime } from "../format.js";
import { label, t } from "../i18n.js";
import { card, message } from "./common.js";

const DEMO_ORDER = ["kerjasama", "pimpinan", "tkksd", "auditor", "opd", "publik", "admin"];

function currentState() {
  const token = getToken();
  if (!token) return html`<p data-testid="access-state" data-role="">${t("access.none")}</p>`;
  const c = claims(token);
  if (!c) return message("error", t("access.invalid"), { testid: "access-invalid" });
  const who = c.opd ? t("access.current_opd", { role: label("role", c.role), opd: c.opd }) : t("access.current", { role: label("role", c.role) });
  const expiry = c.exp ? (isExpired(c) ? t("access.expired") : t("access.expires", { date: formatDateTime(new Date(c.exp * 1000).toISOString()) })) : "";
  return html`<p data-testid="access-state" data-role="${c.role || ""}"><strong>${who}</strong></p>
    ${expiry ? html`<p class="muted small">${expiry}</p>` : ""}
    <p><button type="button" class="button" data-testid="sign-out">${t("access.signout")}</button></p>`;
}

export async function access(el, ctx) {
  const roles = await demoAvailable();
  const demo = roles ? card(t("access.demo"), html`<p class="muted small">${t("access.demo_note")}</p>
      <div class="demo-roles" data-testid="demo-roles">
        ${DEMO_ORDER.filter((r) => roles.includes(r)).map((r) => html`<button type="button" class="button" data-role="${r}" data-testid="demo-role-${r}">${label("role", r)}</button>`)}
      </div>
      <div class="field field-inline"><label for="demo-opd">${t("access.opd_code")}</label>
        <input id="demo-opd" type="text" maxlength="40" value="DLH" data-testid="demo-opd"></div>
      <div data-testid="demo-error"></div>`, { testid: "demo-card" }) : "";

  el.innerHTML = String(html`<div class="page-head"><h1>${t("access.title")}</h1></div>
    ${ctx.reason ? message("info", ctx.reason, { testid: "access-reason" }) : ""}
    <div class="columns">
      <div class="col-main">
        ${card("", currentState())}
        ${card(t("access.token"), html`<p class="muted small">${t("access.intro")}</p>
          <form data-testid="token-form"><label class="sr-only" for="token">${t("access.token")}</label>
            <textarea id="token" name="token" rows="4" spellcheck="false" autocomplete="off" data-testid="token-input"></textarea>
            <p><button type="submit" class="button button-primary" data-testid="token-save">${t("access.save")}</button></p>
          </form>`)}
      </div>
      <div class="col-side">${demo}</div>
    </div>`);

  el.querySelector('[data-testid="token-form"]').addEventListener("submit", (event) => {
    event.preventDefault();
    const token = el.querySelector("#token").value.trim();
    if (!token) return;
    if (!claims(token)) {
      el.querySelector('[data-testid="token-form"]').insertAdjacentHTML("beforeend", String(message("error", t("access.invalid"), { testid: "access-invalid" })));
      return;
    }
    setToken(token);
    ctx.authChanged("/");
  });
  const signOut = el.querySelector('[data-testid="sign-out"]');
  if (signOut) signOut.addEventListener("click", () => { setToken(""); ctx.authChanged("/access"); });
  el.querySelectorAll("[data-role]").forEach((button) => button.addEventListener("click", async () => {
    const opdCode = el.querySelector("#demo-opd").value.trim();
    try {
      await demoToken(button.dataset.role, button.dataset.role === "opd" ? opdCode : "");
      ctx.authChanged("/");
    } catch (err) {
      el.querySelector('[data-testid="demo-error"]').innerHTML = String(message("error", t("access.demo_failed", { detail: err.message })));
    }
  }));
  return { roles };
}
