// Calls to the JSON API: the session cookie is sent by the browser; every change echoes the
// session's CSRF token. Errors become exceptions carrying the server's message and field.
export class ApiError extends Error {
  constructor(status, body) {
    super(body?.error?.message || `HTTP ${status}`);
    this.status = status;
    this.field = body?.error?.field;
    this.details = body?.error?.details || [];
  }
}

/// Sends a body (CSV or GeoJSON text, a file's bytes) with the given content type.
export async function sendText(method, path, text, contentType) {
  const r = await fetch(path, {
    method,
    headers: { "x-csrf-token": sessionStorage.getItem("wuzhi.csrf") || "", "content-type": contentType },
    body: text,
  });
  const raw = await r.text();
  const data = raw ? JSON.parse(raw) : null;
  if (!r.ok) throw new ApiError(r.status, data);
  return data;
}

export async function api(method, path, body) {
  const headers = {};
  if (method !== "GET") headers["x-csrf-token"] = sessionStorage.getItem("wuzhi.csrf") || "";
  if (body !== undefined) headers["content-type"] = "application/json";
  const r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  const data = text ? JSON.parse(text) : null;
  if (!r.ok) throw new ApiError(r.status, data);
  return data;
}

/// Calls `onChange(change)` for each change the server tells this person about (server-sent
/// events; the browser reconnects on its own). Returns the function that stops listening.
/// Follows a background job the server queued until it ends, telling `onProgress` each
/// second how far it is; gives the finished job, or throws why it failed.
export async function followJob(job, onProgress) {
  while (job.state === "queued" || job.state === "running") {
    onProgress(job);
    await new Promise((r) => setTimeout(r, 1000));
    job = await api("GET", `/api/jobs/${job.id}`);
  }
  if (job.state === "failed") throw new Error(job.error);
  return job;
}

export function listen(onChange) {
  const es = new EventSource("/api/events");
  es.addEventListener("change", (e) => onChange(JSON.parse(e.data)));
  es.addEventListener("reload", () => onChange(null));
  return () => es.close();
}

/// Runs `f` at most once per `ms`, after the last call.
export function debounce(f, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => f(...args), ms);
  };
}

/// Signs in; returns the session, or, when the account needs a second factor, the
/// challenge (`second_factor`: "code" or "enrol") to answer with `answerSecondFactor`.
export async function login(username, password) {
  const s = await api("POST", "/api/session", { username, password });
  if (s.csrf_token) sessionStorage.setItem("wuzhi.csrf", s.csrf_token);
  return s;
}

export async function answerSecondFactor(challenge, code) {
  const s = await api("POST", "/api/session/second-factor", { challenge, code });
  sessionStorage.setItem("wuzhi.csrf", s.csrf_token);
  return s;
}

export async function logout() {
  try {
    await api("DELETE", "/api/session");
  } finally {
    sessionStorage.removeItem("wuzhi.csrf");
  }
}
