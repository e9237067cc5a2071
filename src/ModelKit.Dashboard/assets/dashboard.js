// ModelKit dashboard: keeps the panels live from the server's event stream, and sends the actions.
// The server renders every panel's HTML; this script only swaps it in, keeping focus and open sections.
const base = document.body.dataset.base;
const live = document.getElementById("live");
const message = document.getElementById("message");
const dialog = document.getElementById("scale-dialog");
const scaleForm = document.getElementById("scale-form");
const scaleInput = document.getElementById("scale-replicas");
const scaleError = document.getElementById("scale-error");
let scaling = null;

function show(text, isError) {
  message.textContent = text;
  message.classList.toggle("error", !!isError);
  message.hidden = false;
}

// Replaces a panel's contents with the server's HTML, keeping the focused element (by id) and open <details>.
function swap(panel, html) {
  const target = document.querySelector(`[data-panel="${panel}"]`);
  if (!target) return;
  const focused = document.activeElement && target.contains(document.activeElement) ? document.activeElement.id : null;
  const open = [...target.querySelectorAll("details[open]")].map((d) => d.id);
  target.innerHTML = html;
  for (const id of open) {
    const details = document.getElementById(id);
    if (details) details.open = true;
  }
  if (focused) {
    const again = document.getElementById(focused);
    if (again) again.focus({ preventScroll: true });
  }
}

function connect() {
  const events = new EventSource(`${base}/events`);
  events.addEventListener("open", () => { live.textContent = "Live"; });
  events.addEventListener("panel", (e) => {
    const { panel, html } = JSON.parse(e.data);
    swap(panel, html);
    live.textContent = `Live · updated ${new Date().toLocaleTimeString()}`;
    document.body.dataset.updates = String(Number(document.body.dataset.updates || 0) + 1);
  });
  events.addEventListener("signed-out", () => {
    events.close();
    location.assign(`${base}/login`);
  });
  events.addEventListener("error", () => { live.textContent = "Reconnecting…"; });
}

async function act(url, body) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "X-ModelKit-Dashboard": "1", "Content-Type": "application/json" },
    body: body ? JSON.stringify(body) : "{}",
    credentials: "same-origin",
  });
  let answer = {};
  try { answer = await response.json(); } catch { /* not JSON: the status says enough */ }
  if (response.status === 401) location.assign(`${base}/login`);
  return response.ok ? { ok: true, text: answer.message || "Done." } : { ok: false, text: answer.error || `The server answered ${response.status}.` };
}

document.addEventListener("click", async (e) => {
  const button = e.target.closest("button[data-action], button[data-download-action]");
  if (!button) return;
  if (button.dataset.action === "scale") {
    scaling = button.dataset.deployment;
    document.getElementById("scale-deployment").textContent = scaling;
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
  const result = await act(`${base}/actions/deployments/${encodeURIComponent(scaling)}/scale`, { replicas });
  if (!result.ok) {
    scaleError.textContent = result.text;
    scaleError.hidden = false;
    scaleInput.setAttribute("aria-invalid", "true");
    return;
  }
  dialog.close();
  show(result.text, false);
});

document.getElementById("scale-cancel").addEventListener("click", () => dialog.close());

connect();
