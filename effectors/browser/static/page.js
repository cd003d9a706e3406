// The page a home owner opens every day: Live, Visits, Faces and Health, one view at a time.
//
// Up the websocket: this device's frames as binary JPEG messages, {"type": "transcript",
// "text": ...}, and {"type": "arm", "rule": ..., "armed": true|false}.
// Down: JSON messages with a "type": welcome, frame, perception, track, alert, clip,
// command, rule, throttled, refused. The views ask the node's HTTP routes for the rest.
// No framework and no build step: the node serves these files as they are.

import { $, el, notice } from "./dom.js";
import { eye, heard, obey, perceive, sendFrame, setEye, setFps, startEye } from "./eye.js";
import { refreshFaces, startFaces } from "./faces.js";
import { refreshHealth } from "./health.js";
import { frameCame, latencies, perceived, setOwnSource, startLive, tracked } from "./live.js";
import { refreshVisits, startVisits } from "./visits.js";

const VIEWS = { live: null, visits: refreshVisits, faces: refreshFaces, health: refreshHealth };
const HEALTH_EVERY_MS = 3000;
let retryMs = 500;

// -- who we are -----------------------------------------------------------------

function defaultSource() {
  const agent = navigator.userAgent.toLowerCase();
  const browser = ["edg", "firefox", "chrome", "safari"].find((b) => agent.includes(b)) || "page";
  const device = ["android", "iphone", "ipad", "windows", "mac", "linux"].find((d) => agent.includes(d)) || "web";
  const suffix = Math.random().toString(16).slice(2, 6);
  return `${browser === "edg" ? "edge" : browser}-${device}-${suffix}`;
}

function source() {
  const asked = new URLSearchParams(location.search).get("source");
  if (asked) return asked;
  if (!localStorage.getItem("brain-source")) localStorage.setItem("brain-source", defaultSource());
  return localStorage.getItem("brain-source"); // the same name each time this browser comes back
}

// -- the connection -------------------------------------------------------------

function connect() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const params = new URLSearchParams({ source: $("source").value });
  const token = new URLSearchParams(location.search).get("token");
  if (token) params.set("token", token); // the cookie carries it otherwise
  const socket = new WebSocket(`${scheme}//${location.host}/ws?${params}`);
  socket.binaryType = "arraybuffer";
  eye.socket = socket;
  showState("connecting", false);
  socket.onopen = () => {
    retryMs = 500;
    showState("connected", true);
  };
  socket.onmessage = (event) => receive(JSON.parse(event.data));
  socket.onclose = () => {
    if (eye.socket !== socket) return; // replaced on purpose (a new source name)
    showState(`offline, retrying in ${(retryMs / 1000).toFixed(1)} s`, false);
    setTimeout(connect, retryMs);
    retryMs = Math.min(retryMs * 2, 10_000);
  };
}

function showState(text, online) {
  $("state").textContent = text;
  $("state").className = `state ${online ? "online" : "offline"}`;
}

function receive(message) {
  switch (message.type) {
    case "welcome":
      $("source").value = message.source;
      setOwnSource(message.source);
      break;
    case "frame":
      frameCame(message);
      break;
    case "perception":
      if (message.perception.kind === "mention") addNews(message.perception.text);
      if (message.perception.source === $("source").value || message.perception.kind === "mention") {
        perceive(message.perception, message.seq);
      }
      perceived(message.perception);
      break;
    case "track":
      tracked(message.track);
      break;
    case "alert":
      addNews(`Alert (${message.alert.rule}) at ${message.alert.source}: ${message.alert.perception.text}`);
      if (current() === "visits") setTimeout(refreshVisits, 500); // the recorder indexes it first
      break;
    case "clip":
      if (current() === "visits") setTimeout(refreshVisits, 500);
      break;
    case "command":
      obey(message.command);
      break;
    case "rule":
      showRule(message.rule, message.state);
      break;
    case "throttled":
      setFps(Math.min(eye.fps, message.max_fps));
      notice(message.reason);
      break;
    case "refused":
      notice(message.reason);
      break;
  }
}

// Mentions and alerts, newest first, as they come (the Visits view keeps the alerts).
function addNews(text) {
  const when = el("time", { datetime: new Date().toISOString() }, new Date().toLocaleTimeString());
  $("feed").prepend(el("li", {}, when, ` ${text}`));
  while ($("feed").children.length > 20) $("feed").lastChild.remove();
  $("news").hidden = false;
}

// -- the views ----------------------------------------------------------------------

function current() {
  const asked = location.hash.slice(1);
  return asked in VIEWS ? asked : "live";
}

function showView() {
  const view = current();
  for (const name of Object.keys(VIEWS)) {
    $(name).hidden = name !== view;
    const link = $(`to-${name}`);
    if (name === view) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  if (VIEWS[view]) VIEWS[view]();
}

// -- the alert rules: armed or not, with a switch ----------------------------------------

function showRule(rule, ruleState) {
  let row = $(`rule-${rule}`);
  if (ruleState === "removed") {
    if (row) row.remove();
    $("rule-list").hidden = !$("rule-list").children.length;
    return;
  }
  if (!row) {
    const button = el("button", { type: "button" });
    button.onclick = () => {
      if (!eye.socket || eye.socket.readyState !== WebSocket.OPEN) {
        return notice("Not connected: arm or disarm once the page is back online.");
      }
      const armed = button.getAttribute("aria-pressed") !== "true";
      eye.socket.send(JSON.stringify({ type: "arm", rule, armed }));
    };
    row = el("li", { id: `rule-${rule}` }, button);
    $("rule-list").append(row);
  }
  const armed = ruleState === "armed";
  const button = row.querySelector("button");
  button.textContent = `${rule}: ${armed ? "armed" : "disarmed"}`;
  button.setAttribute("aria-pressed", String(armed));
  $("rule-list").hidden = false;
}

// -- wiring -------------------------------------------------------------------------------

function main() {
  $("source").value = source();
  $("source").onchange = () => {
    localStorage.setItem("brain-source", $("source").value);
    setOwnSource($("source").value);
    const old = eye.socket;
    eye.socket = null;
    if (old) old.close();
    connect();
  };
  startVisits();
  startFaces();
  window.onhashchange = showView;
  showView();
  setInterval(() => current() === "health" && refreshHealth(), HEALTH_EVERY_MS);
  startLive($("source").value);
  connect();
  startEye(new URLSearchParams(location.search).get("eye") !== "closed");
}

// For tests and benchmarks, and for whoever opens the console.
window.brain = { state: eye, latencies, sendFrame, heard, setEye, setFps, refreshVisits, refreshFaces };
main();
