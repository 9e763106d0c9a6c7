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

// Answers already seen, by token and URL: {etag, body}. Asked again with If-None-Match, the API
// answers 304 Not Modified while the read model is unchanged, and the body is reused. Keyed by the
// token too: another user (another scope) must never see this user's answer. The browser's own
// HTTP cache stays out of it (cache: "no-store"), so there is one mechanism, this one.
const answers = new Map();
const MAX_ANSWERS = 200;

/** GET a JSON resource; ``params`` values may be arrays (repeated) and empty ones are dropped.
 *  Conditional: an unchanged resource costs the server no query and the network no body. */
export async function get(path, params = {}) {
  const url = new URL(path.replace(/^\//, ""), API_ROOT);
  for (const [name, value] of Object.entries(params)) {
    for (const v of Array.isArray(value) ? value : [value]) {
      if (v !== undefined && v !== null && v !== "") url.searchParams.append(name, v);
    }
  }
  const token = getToken();
  const key = `${token || ""} ${url}`;
  const known = answers.get(key);
  let response;
  try {
    response = await fetch(url, {
      headers: {
        Accept: "application/json",
        ...(token ? { Authorization: `Bearer ${token}` } : {}),
        ...(known ? { "If-None-Match": known.etag } : {}),
      },
      credentials: "omit",
      cache: "no-store",
    });
  } catch (err) {
    throw new ApiError(0, { detail: String(err && err.message ? err.message : err) });
  }
  if (response.status === 304 && known) {
    answers.delete(key);
    answers.set(key, known); // most recently used last
    return structuredClone(known.body); // views may change what they are given
  }
  let body = null;
  try { body = await response.json(); } catch { body = null; }
  if (!response.ok) throw new ApiError(response.status, body);
  const etag = response.headers.get("ETag");
  if (etag) {
    answers.delete(key);
    answers.set(key, { etag, body: structuredClone(body) });
    if (answers.size > MAX_ANSWERS) answers.delete(answers.keys().next().value);
  }
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
