// The phone's outbox for grid work: every write of a patrol, a finding, a note or a visit
// goes into IndexedDB first, with an idempotency key (or the upload's sequence number), and
// is sent in order when the network allows — so a lost answer or a dead zone records nothing
// twice and loses nothing. A write that depends on an earlier one (the track of a patrol
// started offline) names it by its key, `{patrol:KEY}`, resolved once the earlier one is sent.
import { ApiError } from "../../api.js";

const DB = "wuzhi-outbox";
const listeners = new Set();
let flushing = null;
let lastProblem = null;

function open() {
  return new Promise((resolve, reject) => {
    const r = indexedDB.open(DB, 1);
    r.onupgradeneeded = () => {
      const db = r.result;
      db.createObjectStore("queue", { keyPath: "seq", autoIncrement: true });
      db.createObjectStore("ids");
      db.createObjectStore("failed", { keyPath: "seq" });
    };
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

async function tx(stores, mode, work) {
  const db = await open();
  return new Promise((resolve, reject) => {
    const t = db.transaction(stores, mode);
    let out;
    Promise.resolve(work(t)).then((v) => (out = v), reject);
    t.oncomplete = () => {
      db.close();
      resolve(out);
    };
    t.onerror = () => reject(t.error);
  });
}

/// Who is signed in here: a write is sent only under the session of the person who made it.
function person() {
  try {
    return JSON.parse(localStorage.getItem("wuzhi.me"))?.person?.id ?? null;
  } catch {
    return null;
  }
}

const req = (r) => new Promise((resolve, reject) => ((r.onsuccess = () => resolve(r.result)), (r.onerror = () => reject(r.error))));

/// A fresh idempotency key.
export function newKey(prefix) {
  const rnd = crypto.getRandomValues(new Uint32Array(2));
  return `${prefix}-${Date.now().toString(36)}-${rnd[0].toString(36)}${rnd[1].toString(36)}`;
}

/// Puts a write in the outbox and tries to send it. `resolves`: the name under which the
/// answer's `id` is kept for later writes (`patrol:KEY`).
/// `blob`: a file (a photo) sent as the raw body with its own type, instead of JSON.
export async function enqueue({ method = "POST", path, body, blob, label, resolves }) {
  await tx(["queue"], "readwrite", (t) =>
    t.objectStore("queue").add({ method, path, body, blob, label, resolves, person: person(), at: Date.now() }),
  );
  changed();
  flush();
}

/// The id an earlier write's answer gave (`patrol:KEY`), once it has been sent.
export async function resolved(name) {
  return tx(["ids"], "readonly", (t) => req(t.objectStore("ids").get(name)));
}

/// What waits (the signed-in person's writes) and what the server refused.
export async function state() {
  const me = person();
  return tx(["queue", "failed"], "readonly", async (t) => ({
    waiting: (await req(t.objectStore("queue").getAll())).filter((i) => i.person === me).length,
    failed: (await req(t.objectStore("failed").getAll())).filter((i) => i.person === me),
    problem: lastProblem,
  }));
}

export async function dismissFailed(seq) {
  await tx(["failed"], "readwrite", (t) => t.objectStore("failed").delete(seq));
  changed();
}

export function onChange(f) {
  listeners.add(f);
  return () => listeners.delete(f);
}

function changed() {
  for (const f of listeners) f();
}

async function substitute(path) {
  const names = [...path.matchAll(/\{([a-z]+:[^}]+)\}/g)].map((m) => m[1]);
  for (const n of names) {
    const id = await resolved(n);
    if (id === undefined) return null;
    path = path.replace(`{${n}}`, String(id));
  }
  return path;
}

/// Sends what waits, oldest first, until the outbox is empty or the network (or the
/// session) says stop. A write the server refuses for its content (400, 403, 404, 409) is
/// set aside with the server's reason, so it does not hold up the rest.
export function flush() {
  if (!flushing) flushing = run().finally(() => (flushing = null));
  return flushing;
}

async function run() {
  for (;;) {
    const me = person();
    const item = await tx(["queue"], "readonly", (t) =>
      req(t.objectStore("queue").getAll()).then((all) => all.find((i) => i.person === me) ?? null),
    );
    if (!item) {
      lastProblem = null;
      changed();
      return;
    }
    const path = await substitute(item.path);
    if (path === null) {
      lastProblem = "waiting";
      changed();
      return;
    }
    let r;
    try {
      r = await fetch(path, {
        method: item.method,
        headers: {
          "content-type": item.blob ? item.blob.type || "application/octet-stream" : "application/json",
          "x-csrf-token": sessionStorage.getItem("wuzhi.csrf") || "",
        },
        body: item.blob ?? JSON.stringify(item.body),
      });
    } catch {
      lastProblem = "offline";
      changed();
      return;
    }
    const text = await r.text();
    const data = text ? JSON.parse(text) : null;
    if (r.status === 401) {
      lastProblem = "signin";
      changed();
      return;
    }
    if (r.status >= 500 || r.status === 429) {
      lastProblem = "server";
      changed();
      return;
    }
    await tx(["queue", "ids", "failed"], "readwrite", (t) => {
      t.objectStore("queue").delete(item.seq);
      if (r.ok && item.resolves && data?.id !== undefined) t.objectStore("ids").put(data.id, item.resolves);
      if (!r.ok) t.objectStore("failed").put({ ...item, error: new ApiError(r.status, data).message });
    });
    changed();
  }
}

// Send when the network comes back, when the page is shown again, and now and then.
addEventListener("online", () => flush());
document.addEventListener("visibilitychange", () => document.visibilityState === "visible" && flush());
setInterval(() => navigator.onLine && flush(), 20000);
