// The evaluation service's read API, same origin: /api/v1/... with the user's bearer token.
import { getToken } from "./auth.js";

const API_ROOT = new URL("../api/v1/", document.baseURI);

export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
  }
}

/** GET a JSON resource; ``params`` values may be arrays (repeated) and empty ones are dropped. */
export async function get(path, params = {}) {
  const url = new URL(path.replace(/^\//, ""), API_ROOT);
  for (const [name, value] of Object.entries(params)) {
    for (const v of Array.isArray(value) ? value : [value]) {
      if (v !== undefined && v !== null && v !== "") url.searchParams.append(name, v);
    }
  }
  const token = getToken();
  let response;
  try {
    response = await fetch(url, {
      headers: { Accept: "application/json", ...(token ? { Authorization: `Bearer ${token}` } : {}) },
      credentials: "omit",
      cache: "no-store",
    });
  } catch (err) {
    throw new ApiError(0, { detail: String(err && err.message ? err.message : err) });
  }
  let body = null;
  try { body = await response.json(); } catch { body = null; }
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

/** Like get(), but a 403/404 becomes ``{forbidden: true}`` / ``{notFound: true}`` instead of an error. */
export async function tryGet(path, params = {}) {
  try {
    return await get(path, params);
  } catch (err) {
    if (err instanceof ApiError && err.status === 403) return { forbidden: true, error: err };
    if (err instanceof ApiError && err.status === 404) return { notFound: true, error: err };
    throw err;
  }
}
