// The control room's dashboard: one tile per gate, updated from server-sent events that carry only the
// tiles that changed (at most four messages a second). Each tile's DOM is built once and then only its
// texts and data attributes change.
"use strict";

const tiles = new Map(); // id -> {root, fields, needsOfficer}
const container = document.getElementById("tiles");
const template = document.getElementById("tile-template");
let audio = null;
window.__latency = []; // ms from a gate's state timestamp to its tile's DOM update (benchmarks read this)
window.__beeps = 0;
window.__updates = 0;

function text(element, value) { if (element.textContent !== value) element.textContent = value; }

function build(tile) {
  const root = template.content.firstElementChild.cloneNode(true);
  root.dataset.id = tile.id;
  root.dataset.gate = tile.gate;
  const q = (s) => root.querySelector(s);
  const entry = {
    root, needsOfficer: false, stateAt: null,
    fields: { name: q(".name"), availability: q(".availability"), state: q(".state"), mode: q(".mode"),
              doors: q(".doors"), alarms: q(".alarms"), outcome: q(".outcome"), throughput: q(".throughput"),
              response: q(".response") },
  };
  text(entry.fields.name, tile.gate);
  tiles.set(tile.id, entry);
  // Keep the grid in gate order without re-sorting everything.
  const after = [...tiles.keys()].sort().indexOf(tile.id);
  const next = container.children[after] || null;
  container.insertBefore(root, next);
  return entry;
}

function update(tile) {
  const entry = tiles.get(tile.id) || build(tile);
  const f = entry.fields, root = entry.root;
  root.dataset.availability = tile.availability;
  root.dataset.state = tile.state;
  root.dataset.mode = tile.mode;
  root.dataset.needsOfficer = String(tile.needs_officer);
  text(f.availability, tile.availability);
  text(f.state, tile.state.replaceAll("_", " "));
  text(f.mode, tile.mode.replaceAll("_", " "));
  text(f.doors, Object.entries(tile.doors).map(([d, p]) => `${d} ${p}`).join(", ") || "–");
  text(f.alarms, tile.alarms.map((a) => a.replaceAll("_", " ")).join(", ") || "none");
  f.alarms.dataset.empty = String(tile.alarms.length === 0);
  const last = tile.last_outcome;
  text(f.outcome, last ? `${last.outcome} (${last.reason})` : "–");
  text(f.throughput, `${tile.throughput_per_h} (${tile.transactions} total)`);
  if (tile.pending.length) {
    text(f.response, `sent ${tile.pending.join(", ")}…`);
    delete f.response.dataset.accepted;
  } else if (tile.response) {
    const r = tile.response;
    text(f.response, `${r.action}: ${r.accepted ? "accepted" : "refused"} (${r.reason})`);
    f.response.dataset.accepted = String(r.accepted);
    f.response.dataset.commandId = r.command_id;
  }
  if (tile.needs_officer && !entry.needsOfficer) beep();
  entry.needsOfficer = tile.needs_officer;
  if (tile.state_at && tile.state_at !== entry.stateAt) {
    entry.stateAt = tile.state_at;
    window.__latency.push(Date.now() - tile.state_at * 1000);
  }
}

// Density: compact by itself above COMPACT_ABOVE gates, until the officer chooses with the button.
const COMPACT_ABOVE = 60;
let densityChosen = false;
function setDensity(compact) {
  document.body.dataset.density = compact ? "compact" : "full";
  const button = document.getElementById("density");
  button.setAttribute("aria-pressed", String(compact));
  button.textContent = compact ? "Full" : "Compact";
}
document.getElementById("density").addEventListener("click", () => {
  densityChosen = true;
  setDensity(document.body.dataset.density !== "compact");
});

function apply(message) {
  document.getElementById("site").textContent = message.site;
  const broker = document.getElementById("broker");
  broker.dataset.ok = String(message.broker);
  broker.textContent = message.broker ? "broker: connected" : "broker: disconnected";
  text(document.getElementById("count-gates"), String(message.summary.gates));
  text(document.getElementById("count-online"), String(message.summary.online));
  text(document.getElementById("count-officer"), String(message.summary.needing_officer));
  document.body.dataset.commands = String(message.commands);
  for (const tile of message.tiles) update(tile);
  if (!densityChosen) setDensity(tiles.size > COMPACT_ABOVE);
  window.__updates += 1;
}

// A short two-tone beep through WebAudio when a gate starts needing an officer (the browser allows sound
// after the first click on "Sound", or always with --autoplay-policy=no-user-gesture-required).
function beep() {
  window.__beeps += 1;
  if (!audio || audio.state !== "running") return;
  const now = audio.currentTime;
  for (const [i, freq] of [880, 660].entries()) {
    const osc = audio.createOscillator(), gain = audio.createGain();
    osc.frequency.value = freq;
    gain.gain.setValueAtTime(0.2, now + i * 0.18);
    gain.gain.exponentialRampToValueAtTime(0.001, now + i * 0.18 + 0.16);
    osc.connect(gain).connect(audio.destination);
    osc.start(now + i * 0.18);
    osc.stop(now + i * 0.18 + 0.17);
  }
}

document.getElementById("sound").addEventListener("click", async (event) => {
  audio = audio || new AudioContext();
  if (audio.state === "running") await audio.suspend(); else await audio.resume();
  const on = audio.state === "running";
  event.target.textContent = on ? "Sound on" : "Sound off";
  event.target.setAttribute("aria-pressed", String(on));
});

async function send(gate, action, tile) {
  const response = tile.querySelector(".response");
  try {
    const answer = await fetch("/api/command", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ gate, action }),
    });
    const body = await answer.json();
    if (!answer.ok) { response.textContent = `${action}: not sent (${body.error})`; response.dataset.accepted = "false"; }
  } catch (error) {
    response.textContent = `${action}: not sent (${error})`;
    response.dataset.accepted = "false";
  }
}

// One listener for every button of every tile. Emergency open asks for a second click within 3 s.
container.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-action]");
  if (!button) return;
  const tile = button.closest(".tile");
  const action = button.dataset.action;
  if (action === "emergency_open" && !button.classList.contains("confirm")) {
    button.classList.add("confirm");
    button.dataset.label = button.textContent;
    button.textContent = "Confirm?";
    setTimeout(() => { button.classList.remove("confirm"); button.textContent = button.dataset.label; }, 3000);
    return;
  }
  button.classList.remove("confirm");
  if (button.dataset.label) button.textContent = button.dataset.label;
  send(tile.dataset.gate, action, tile);
});

function connect() {
  const events = new EventSource("/events");
  events.onmessage = (event) => apply(JSON.parse(event.data));
  events.onerror = () => {
    const broker = document.getElementById("broker");
    broker.dataset.ok = "false";
    broker.textContent = "dashboard: reconnecting";
    if (events.readyState === EventSource.CLOSED) setTimeout(connect, 1000);
  };
}

connect();
