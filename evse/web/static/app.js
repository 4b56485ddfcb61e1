"use strict";
// The technician's page: polls /api/state once a second; plain DOM, no build step.

const $ = (id) => document.getElementById(id);

function cell(row, text) {
  const td = document.createElement("td");
  td.textContent = text === null || text === undefined ? "-" : String(text);
  row.appendChild(td);
  return td;
}

async function api(path, body) {
  const options = {credentials: "same-origin"};
  if (body !== undefined) {
    options.method = "POST";
    options.headers = {"Content-Type": "application/json"};
    options.body = JSON.stringify(body);
  }
  const answer = await fetch(path, options);
  if (answer.status === 401) {
    window.location.assign("/login");
    throw new Error("logged out");
  }
  const data = await answer.json().catch(() => ({}));
  return {status: answer.status, data};
}

function showEvses(evses) {
  const body = $("evses").tBodies[0];
  body.replaceChildren();
  const select = $("sim-evse");
  const known = Array.from(select.options).map((o) => o.value).join(",");
  if (known !== evses.map((e) => String(e.id)).join(",")) {
    select.replaceChildren(...evses.map((e) => new Option(String(e.id), String(e.id))));
  }
  for (const e of evses) {
    const row = body.insertRow();
    row.id = `evse-${e.id}`;
    cell(row, e.id);
    cell(row, e.status).className = "evse-status";
    cell(row, e.pilot).className = "evse-pilot";
    cell(row, e.charging_state).className = "evse-charging";
    cell(row, e.offered_current_a === null ? "none" : `${e.offered_current_a} A`).className = "evse-offered";
    cell(row, `${Math.round(e.power_w)} W`).className = "evse-power";
    cell(row, `${e.energy_wh.toFixed(1)} Wh`).className = "evse-energy";
    cell(row, e.transaction_id).className = "evse-tx";
    cell(row, e.faults.length ? e.faults.join(", ") : "-").className = "evse-faults";
  }
}

function showCertificates(rows) {
  const body = $("certificates").tBodies[0];
  body.replaceChildren();
  if (!rows.length) {
    cell(body.insertRow(), "no certificates installed").colSpan = 4;
  }
  for (const c of rows) {
    const row = body.insertRow();
    cell(row, c.type);
    cell(row, c.subject);
    cell(row, c.expires);
    cell(row, c.state);
  }
}

function showState(state) {
  $("station-id").textContent = state.station.id;
  $("station-model").textContent = `${state.station.vendor} ${state.station.model}`;
  $("firmware-version").textContent = state.station.firmware_version || "-";
  const csms = state.csms;
  $("csms-url").textContent = csms.url;
  $("csms-version").textContent = csms.ocpp_version;
  $("csms-profile").textContent = csms.security_profile;
  $("csms-connected").textContent = csms.connected ? "connected" : "offline";
  $("csms-since").textContent = csms.connected_since || "-";
  $("csms-registration").textContent = csms.registration;
  $("csms-queued").textContent = csms.queued_messages;
  showEvses(state.evses);
  $("sim-section").hidden = !state.station.simulated;
  const log = $("log");
  const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
  log.textContent = state.log.join("\n");
  if (atBottom) log.scrollTop = log.scrollHeight;
  showCertificates(state.certificates);
  $("config-path").textContent = state.config_file || "(not started from a file)";
}

async function poll() {
  try {
    const {status, data} = await api("/api/state");
    if (status === 200) {
      showState(data);
      $("live").textContent = "live";
      $("live").className = "badge live-ok";
    }
  } catch (e) {
    $("live").textContent = "charger not answering";
    $("live").className = "badge live-bad";
  }
  window.setTimeout(poll, 1000);
}

// ---- simulated board ----
async function sim(cmd, extra) {
  const evse = Number($("sim-evse").value || 1);
  const {data} = await api("/api/sim", {cmd, evse, ...extra});
  $("sim-result").textContent = data.ok ? "" : data.error;
}
$("sim-plug").addEventListener("click", () => sim("plug", {}));
$("sim-unplug").addEventListener("click", () => sim("unplug", {}));
$("sim-ev-state").addEventListener("click", () => sim("ev-state", {state: $("sim-state").value}));
$("sim-swipe").addEventListener("click", () => sim("swipe", {id_token: $("sim-token").value}));
$("sim-meter").addEventListener("click", () => sim("meter", {power: Number($("sim-power").value)}));
$("sim-fault-raise").addEventListener("click", () => sim("fault", {name: $("sim-fault").value}));
$("sim-fault-clear").addEventListener("click", () => sim("clear", {name: $("sim-fault").value}));

// ---- configuration ----
function showCheck(text, result) {
  const box = $("config-lines");
  box.replaceChildren();
  const byLine = new Map();
  const general = [];
  for (const e of result.errors || []) {
    if (e.line) {
      if (!byLine.has(e.line)) byLine.set(e.line, []);
      byLine.get(e.line).push(e.message);
    } else {
      general.push(e.message);
    }
  }
  for (const message of general) {
    const div = document.createElement("div");
    div.className = "line-error general";
    div.textContent = message;
    box.appendChild(div);
  }
  text.split("\n").forEach((content, index) => {
    const number = index + 1;
    const line = document.createElement("div");
    line.className = byLine.has(number) ? "line bad" : "line";
    line.dataset.line = String(number);
    const num = document.createElement("span");
    num.className = "num";
    num.textContent = String(number);
    const code = document.createElement("code");
    code.textContent = content;
    line.append(num, code);
    box.appendChild(line);
    for (const message of byLine.get(number) || []) {
      const error = document.createElement("div");
      error.className = "line-error";
      error.id = `error-line-${number}`;
      error.dataset.line = String(number);
      error.textContent = message;
      box.appendChild(error);
    }
  });
  const out = $("config-result");
  out.textContent = result.ok ? "ok: check-config accepts this file" : `${result.errors.length} error(s)`;
  out.className = result.ok ? "ok" : "error";
}

async function loadConfig() {
  const {status, data} = await api("/api/config");
  if (status === 200) {
    $("config-text").value = data.text;
  } else {
    $("config-result").textContent = data.error;
  }
}

async function checkConfig() {
  const text = $("config-text").value;
  const {data} = await api("/api/config/check", {text});
  showCheck(text, data);
  return data.ok;
}

$("config-reload").addEventListener("click", loadConfig);
$("config-check").addEventListener("click", checkConfig);
$("config-upload").addEventListener("change", async (event) => {
  const file = event.target.files[0];
  if (!file) return;
  $("config-text").value = await file.text();
  await checkConfig();
});
$("config-apply").addEventListener("click", async () => {
  const text = $("config-text").value;
  const {status, data} = await api("/api/config/apply", {text});
  if (status === 202) {
    $("config-lines").replaceChildren();
    $("config-result").textContent = "applied: the charger is restarting with it; log in again when it is back";
    $("config-result").className = "ok";
  } else if (status === 422) {
    showCheck(text, data);
  } else {
    $("config-result").textContent = data.error || `refused (${status})`;
    $("config-result").className = "error";
  }
});

// ---- device model ----
let searchTimer = null;
async function searchDeviceModel() {
  const q = $("dm-search").value;
  const {data} = await api(`/api/device-model?q=${encodeURIComponent(q)}`);
  const body = $("device-model").tBodies[0];
  body.replaceChildren();
  for (const r of data.rows) {
    const row = body.insertRow();
    cell(row, r.component);
    cell(row, r.variable);
    cell(row, r.attribute);
    cell(row, r.value);
    cell(row, r.mutability);
  }
  $("dm-count").textContent = data.matched > data.rows.length
    ? `${data.rows.length} of ${data.matched} shown` : `${data.matched} found`;
}
$("dm-search").addEventListener("input", () => {
  window.clearTimeout(searchTimer);
  searchTimer = window.setTimeout(searchDeviceModel, 250);
});

$("logout").addEventListener("click", async () => {
  await api("/api/logout", {});
  window.location.assign("/login");
});

poll();
loadConfig();
searchDeviceModel();
