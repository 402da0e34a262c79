// The traveller's screen follows the gate over server-sent events. No text lives here: the words come from
// /config.json (the message catalogues), and a message is only ever a catalogue key plus a progress number.
"use strict";

const TONES = {
  place_document: "info", reading: "info", wait: "info", look_at_camera: "info", starting: "info",
  step_in: "go", proceed: "go", try_again: "warn", appear_alone: "warn",
  see_officer: "stop", gate_closed: "stop", out_of_order: "stop", emergency: "emergency",
};
const LOST_AFTER_MS = 2000; // connection gone this long: show "starting" (the gate keeps its doors safe)

const screen = document.getElementById("screen");
const texts = document.getElementById("texts");
const ring = document.getElementById("progress-ring");
let config = null;
let current = { message: null, progress: null };
let cycleIndex = 0;
let lostTimer = null;
window.__shown = []; // messages in the order they were rendered (read by the browser tests)

async function loadConfig() {
  const response = await fetch("/config.json", { cache: "no-store" });
  if (!response.ok) throw new Error("config " + response.status);
  config = await response.json();
  texts.replaceChildren();
  for (const language of config.languages) {
    const line = document.createElement("p");
    line.className = "line";
    line.lang = language;
    line.dataset.lang = language;
    texts.append(line);
  }
  screen.dataset.mode = config.mode;
  document.title = config.catalogues[config.languages[0]].ui.page_title;
}

function textFor(language, key) {
  const catalogue = config.catalogues[language];
  return key === "starting" ? catalogue.ui.starting : catalogue.messages[key] || "";
}

function render() {
  if (!config) return;
  const key = current.message || "starting";
  screen.dataset.message = key;
  screen.dataset.tone = TONES[key] || "info";
  for (const svg of document.querySelectorAll(".pict")) svg.toggleAttribute("hidden", svg.dataset.for !== key);
  for (const line of texts.children) line.textContent = textFor(line.dataset.lang, key);
  const lines = [...texts.children];
  lines.forEach((line, i) => line.classList.toggle("current", i === cycleIndex % lines.length));
  const progress = current.progress;
  ring.classList.toggle("indeterminate", progress === null);
  ring.style.strokeDashoffset = progress === null ? "" : String(100 - 100 * progress);
  screen.dataset.progress = progress === null ? "" : String(progress);
  if (window.__shown[window.__shown.length - 1] !== key) window.__shown.push(key);
}

function connect() {
  const events = new EventSource("/events");
  events.onopen = async () => {
    clearTimeout(lostTimer);
    lostTimer = null;
    screen.dataset.connection = "open";
    try { await loadConfig(); } catch (e) { /* keep the previous catalogues */ }
    render();
  };
  events.onmessage = (event) => {
    const update = JSON.parse(event.data);
    current = { message: update.message, progress: update.progress };
    render();
  };
  events.onerror = () => {
    screen.dataset.connection = "lost";
    if (lostTimer === null) { // counted from the first failure, not reset by every reconnection attempt
      lostTimer = setTimeout(() => { current = { message: null, progress: null }; render(); }, LOST_AFTER_MS);
    }
    if (events.readyState === EventSource.CLOSED) { // the browser gave up (e.g. an error page): start again
      setTimeout(connect, 1000);
    }
  };
}

async function start() {
  for (;;) {
    try { await loadConfig(); break; } catch (e) { await new Promise((r) => setTimeout(r, 1000)); }
  }
  render();
  setInterval(() => { if (config.mode === "cycle") { cycleIndex += 1; render(); } }, config.cycle_s * 1000);
  connect();
}

start();
