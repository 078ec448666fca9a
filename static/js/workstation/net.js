// Requests of the workstation: JSON with the CSRF header, and the server clock (from the Date header) that
// decides the undo window (F8 d).

let clockOffsetMs = 0; // server clock − client clock, from the last response's Date header

export function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

function noteServerClock(response) {
  const header = response.headers.get("Date");
  const server = header ? Date.parse(header) : NaN;
  // The Date header has a one-second resolution: the server time is within [Date, Date + 1 s).
  if (!Number.isNaN(server)) clockOffsetMs = server + 500 - Date.now();
}

/** The server's clock now, in ms since the epoch (estimated). */
export function serverNow() {
  return Date.now() + clockOffsetMs;
}

async function parse(response) {
  noteServerClock(response);
  const type = response.headers.get("Content-Type") || "";
  const data = type.includes("json") ? await response.json().catch(() => ({})) : {};
  return { ok: response.ok, status: response.status, data };
}

/** GET a JSON document. Network failures throw. */
export async function getJSON(url) {
  const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
  return parse(response);
}

/** POST a JSON body (Accept JSON, CSRF header). Network failures throw; HTTP errors resolve with ok=false. */
export async function postJSON(url, body = {}) {
  const response = await fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
    body: JSON.stringify(body),
  });
  return parse(response);
}
