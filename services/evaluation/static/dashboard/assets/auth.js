// The access token: typed in, passed once as ?token=… (then removed from the address bar), or
// minted by the development-only /dashboard/dev-token endpoint. Kept in localStorage.
// The payload is decoded only to adapt the page (role, expiry); the API verifies every call.

const TOKEN_KEY = "jalin.token";
const DEV_TOKEN_URL = new URL("dev-token", document.baseURI);

export function getToken() {
  try { return localStorage.getItem(TOKEN_KEY) || ""; } catch { return ""; }
}

export function setToken(token) {
  try {
    if (token) localStorage.setItem(TOKEN_KEY, token.trim());
    else localStorage.removeItem(TOKEN_KEY);
  } catch { /* storage disabled: the token lives only in this page */ }
}

/** Take ?token= (and ?lang=) from the address, store the token and clean the address bar. */
export function takeTokenFromUrl() {
  const url = new URL(window.location.href);
  const token = url.searchParams.get("token");
  const langParam = url.searchParams.get("lang");
  if (token) setToken(token);
  if (token || langParam) {
    url.searchParams.delete("token");
    url.searchParams.delete("lang");
    window.history.replaceState(null, "", url.pathname + url.search + url.hash);
  }
  return { token, lang: langParam };
}

/** The token's claims (unverified), or null when there is none or it cannot be read. */
export function claims(token = getToken()) {
  if (!token) return null;
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const json = decodeURIComponent(Array.from(atob(part.padEnd(part.length + ((4 - (part.length % 4)) % 4), "=")))
      .map((c) => "%" + c.charCodeAt(0).toString(16).padStart(2, "0")).join(""));
    const data = JSON.parse(json);
    return typeof data === "object" && data ? data : null;
  } catch {
    return null;
  }
}

export function currentRole() {
  const c = claims();
  return c && typeof c.role === "string" ? c.role : null;
}

export function isExpired(c = claims()) {
  return Boolean(c && typeof c.exp === "number" && c.exp * 1000 < Date.now());
}

/** Whether the server offers demo tokens (development only; 404 in production). */
export async function demoAvailable() {
  try {
    const response = await fetch(DEV_TOKEN_URL, { cache: "no-store", credentials: "omit" });
    if (!response.ok) return null;
    const body = await response.json();
    return body && body.available ? body.roles : null;
  } catch {
    return null;
  }
}

export async function demoToken(role, opd) {
  const url = new URL(DEV_TOKEN_URL);
  url.searchParams.set("role", role);
  if (opd) url.searchParams.set("opd", opd);
  const response = await fetch(url, { cache: "no-store", credentials: "omit" });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.detail || `HTTP ${response.status}`);
  setToken(body.token);
  return body;
}
