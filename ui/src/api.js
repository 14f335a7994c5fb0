// Calls to the JSON API: the session cookie is sent by the browser; every change echoes the
// session's CSRF token. Errors become exceptions carrying the server's message and field.
export class ApiError extends Error {
  constructor(status, body) {
    super(body?.error?.message || `HTTP ${status}`);
    this.status = status;
    this.field = body?.error?.field;
  }
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

export async function login(username, password) {
  const s = await api("POST", "/api/session", { username, password });
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
