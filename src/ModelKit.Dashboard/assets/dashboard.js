// ModelKit dashboard: keeps the panels live from the server's event stream, and sends the actions.
// The server renders every panel's HTML; this script only swaps it in, keeping focus and open sections.
const base = document.body.dataset.base;
const live = document.getElementById("live");
const updated = document.getElementById("updated");
const message = document.getElementById("message");
const dialog = document.getElementById("modelkit-scale-dialog");
const scaleForm = document.getElementById("modelkit-scale-form");
const scaleInput = document.getElementById("modelkit-scale-replicas");
const scaleError = document.getElementById("modelkit-scale-error");
let scaling = null;

function show(text, isError) {
  message.textContent = text;
  message.classList.toggle("error", !!isError);
  message.hidden = false;
}

// Replaces a panel's contents with the server's HTML, keeping the focused element (by id, else another button of the same
// deployment or download, else the panel's heading), the open <details> and the logs' scroll positions.
function swap(panel, html) {
  const target = document.querySelector(`[data-panel="${panel}"]`);
  if (!target) return;
  const active = document.activeElement && target.contains(document.activeElement) ? document.activeElement : null;
  const owner = active && (active.dataset.deployment || active.dataset.download);
  const open = [...target.querySelectorAll("details[open]")].map((d) => d.id);
  const scrolled = [...target.querySelectorAll("details[id] .log")].map((l) => [l.closest("details").id, l.scrollTop]);
  target.innerHTML = html;
  target.dataset.swaps = String(Number(target.dataset.swaps || 0) + 1);
  for (const id of open) {
    const details = document.getElementById(id);
    if (details) details.open = true;
  }
  for (const [id, top] of scrolled) {
    const log = document.querySelector(`#${CSS.escape(id)} .log`);
    if (log) log.scrollTop = top;
  }
  if (active) {
    const again = (active.id && document.getElementById(active.id))
      || (owner && target.querySelector(`button[data-deployment="${CSS.escape(owner)}"], button[data-download="${CSS.escape(owner)}"]`))
      || target.closest("section").querySelector("h2");
    if (again === target.closest("section").querySelector("h2")) again.tabIndex = -1;
    again.focus({ preventScroll: true });
  }
}

// The stream: panels as they change. A stream the server ended for good (signed out, restarted, a proxy's error) is
// opened again after a moment, unless the session is over, which goes to the login form.
function connect() {
  const events = new EventSource(`${base}/events`);
  events.addEventListener("open", () => { setLive("Live"); });
  events.addEventListener("panel", (e) => {
    const { panel, html } = JSON.parse(e.data);
    swap(panel, html);
    updated.textContent = `updated ${new Date().toLocaleTimeString()}`;
    document.body.dataset.updates = String(Number(document.body.dataset.updates || 0) + 1);
  });
  events.addEventListener("signed-out", () => {
    events.close();
    location.assign(`${base}/login`);
  });
  events.addEventListener("error", () => {
    setLive("Reconnecting…");
    if (events.readyState !== EventSource.CLOSED) return; // the browser tries again by itself
    setTimeout(async () => {
      try {
        const session = await fetch(`${base}/session`, { credentials: "same-origin" });
        if (session.status === 401) { location.assign(`${base}/login`); return; }
      } catch { /* the server is not reachable yet: try the stream again anyway */ }
      connect();
    }, 3000);
  });
}

// The status line is announced when it changes (Live, Reconnecting), not on every refresh.
function setLive(text) {
  if (live.textContent !== text) live.textContent = text;
}

async function act(url, body) {
  let response;
  try {
    response = await fetch(url, {
      method: "POST",
      headers: { "X-ModelKit-Dashboard": "1", "Content-Type": "application/json" },
      body: body ? JSON.stringify(body) : "{}",
      credentials: "same-origin",
    });
  } catch {
    return { ok: false, text: "The server could not be reached; try again." };
  }
  let answer = {};
  try { answer = await response.json(); } catch { /* not JSON: the status says enough */ }
  if (response.status === 401) location.assign(`${base}/login`);
  return response.ok ? { ok: true, text: answer.message || "Done." } : { ok: false, text: answer.error || answer.detail || `The server answered ${response.status}.` };
}

document.addEventListener("click", async (e) => {
  const button = e.target.closest("button[data-action], button[data-download-action]");
  if (!button) return;
  if (button.dataset.action === "scale") {
    scaling = button.dataset.deployment;
    document.getElementById("modelkit-scale-deployment").textContent = scaling;
    scaleInput.value = button.dataset.replicas;
    scaleError.hidden = true;
    scaleInput.removeAttribute("aria-invalid");
    dialog.showModal();
    scaleInput.select();
    return;
  }
  const url = button.dataset.action
    ? `${base}/actions/deployments/${encodeURIComponent(button.dataset.deployment)}/${button.dataset.action}`
    : `${base}/actions/downloads/${encodeURIComponent(button.dataset.download)}/${button.dataset.downloadAction}`;
  button.disabled = true;
  const result = await act(url);
  button.disabled = false;
  show(result.text, !result.ok);
});

scaleForm.addEventListener("submit", async (e) => {
  e.preventDefault();
  const text = scaleInput.value.trim();
  const replicas = Number(text);
  if (text === "" || !Number.isInteger(replicas)) {
    scaleError.textContent = "Enter a whole number of replicas.";
    scaleError.hidden = false;
    scaleInput.setAttribute("aria-invalid", "true");
    return;
  }
  const submit = document.getElementById("modelkit-scale-submit");
  submit.disabled = true; // sent once
  const result = await act(`${base}/actions/deployments/${encodeURIComponent(scaling)}/scale`, { replicas });
  submit.disabled = false;
  if (!result.ok) {
    scaleError.textContent = result.text;
    scaleError.hidden = false;
    scaleInput.setAttribute("aria-invalid", "true");
    return;
  }
  dialog.close();
  show(result.text, false);
});

document.getElementById("modelkit-scale-cancel").addEventListener("click", () => dialog.close());
// Closed either way (Scale, Cancel, Escape): focus goes back to the deployment's Scale button.
dialog.addEventListener("close", () => {
  const button = scaling && document.getElementById(`scale-${scaling}`);
  if (button) button.focus();
});

connect();
