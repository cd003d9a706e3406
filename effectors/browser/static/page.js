// The brain's eye, voice and ear in a web page.
//
// Up the websocket: frames as binary JPEG messages, {"type": "transcript", "text": ...}, and
// {"type": "name", "name": ..., "source", "frame", "box"}: this face in an alert is NAME, and
// {"type": "arm", "rule": ..., "armed": true|false}: arm or disarm an alert rule.
// Down: JSON messages with a "type": welcome, perception, alert, clip, command, rule, throttled,
// refused.
// No framework and no build step: the node serves this file as it is.

const $ = (id) => document.getElementById(id);

const REPEAT_SECONDS = 5; // the same sentence is not said twice within this
const FRAME_WIDTH = 640; // wider video is shrunk before it is sent
const MAX_BUFFERED = 1_000_000; // bytes waiting in the socket: skip frames rather than queue them

const state = {
  socket: null,
  retryMs: 500,
  eyeOpen: false,
  fps: Number($("fps").value),
  facing: "user",
  stream: null,
  timer: null,
  seq: 0,
  sentAt: new Map(), // frame seq -> performance.now() when captured
  roundTrips: [], // ms from capturing a frame to showing its perception
  lastSaid: { text: "", at: 0 },
  listening: false,
};

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
  state.socket = socket;
  showState("connecting", false);
  socket.onopen = () => {
    state.retryMs = 500;
    showState("connected", true);
  };
  socket.onmessage = (event) => receive(JSON.parse(event.data));
  socket.onclose = () => {
    if (state.socket !== socket) return; // replaced on purpose (a new source name)
    showState(`offline, retrying in ${(state.retryMs / 1000).toFixed(1)} s`, false);
    setTimeout(connect, state.retryMs);
    state.retryMs = Math.min(state.retryMs * 2, 10_000);
  };
}

function showState(text, online) {
  $("state").textContent = text;
  $("state").className = `state ${online ? "online" : "offline"}`;
}

function isOpen() {
  return state.socket && state.socket.readyState === WebSocket.OPEN;
}

function receive(message) {
  switch (message.type) {
    case "welcome":
      $("source").value = message.source;
      break;
    case "perception":
      perceive(message.perception, message.seq);
      break;
    case "alert":
      addAlert(message.alert);
      break;
    case "command":
      obey(message.command);
      break;
    case "rule":
      showRule(message.rule, message.state);
      break;
    case "clip":
      review(); // the recorder has it now, or will in a moment
      setTimeout(review, 1000);
      break;
    case "throttled":
      setFps(Math.min(state.fps, message.max_fps));
      notice(message.reason);
      break;
    case "refused":
      notice(message.reason);
      break;
  }
}

// -- the eye ----------------------------------------------------------------------

async function startCamera() {
  if (state.stream) state.stream.getTracks().forEach((track) => track.stop());
  if (!navigator.mediaDevices) {
    notice("This page cannot use the camera: open it over https (or on localhost).");
    return;
  }
  try {
    state.stream = await navigator.mediaDevices.getUserMedia({
      video: { facingMode: state.facing, width: { ideal: FRAME_WIDTH } },
      audio: false,
    });
  } catch (error) {
    notice(`The camera did not open (${error.name}): allow the camera for this page.`);
    return;
  }
  $("video").srcObject = state.stream;
  const cameras = (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === "videoinput");
  $("flip").hidden = cameras.length < 2;
}

function setEye(open) {
  state.eyeOpen = open;
  $("eye").textContent = open ? "Close the eye" : "Open the eye";
  $("eye").setAttribute("aria-pressed", String(open));
  scheduleFrames();
}

function setFps(fps) {
  state.fps = fps;
  $("fps").value = String(fps);
  scheduleFrames();
}

function scheduleFrames() {
  clearInterval(state.timer);
  state.timer = null;
  if (state.eyeOpen && state.fps > 0) state.timer = setInterval(sendFrame, 1000 / state.fps);
}

// One frame from the video, as JPEG, up the websocket. Resolves to its seq, or null.
async function sendFrame() {
  const video = $("video");
  if (!isOpen() || !video.videoWidth || state.socket.bufferedAmount > MAX_BUFFERED) return null;
  const scale = Math.min(1, FRAME_WIDTH / video.videoWidth);
  const canvas = document.createElement("canvas");
  canvas.width = Math.round(video.videoWidth * scale);
  canvas.height = Math.round(video.videoHeight * scale);
  canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
  const captured = performance.now();
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.8));
  if (!blob || !isOpen()) return null;
  state.socket.send(await blob.arrayBuffer());
  const seq = state.seq++;
  state.sentAt.set(seq, captured);
  if (state.sentAt.size > 256) state.sentAt.delete(state.sentAt.keys().next().value);
  return seq;
}

function obey(command) {
  if (command === "open") setEye(true);
  else if (command === "close") setEye(false);
  else if (command === "snapshot") sendFrame();
}

// -- what the brain perceives ---------------------------------------------------------

function perceive(perception, seq) {
  if (perception.kind === "vision") {
    showLabels(perception);
    if (seq !== undefined && state.sentAt.has(seq)) {
      state.roundTrips.push(performance.now() - state.sentAt.get(seq));
    }
  } else {
    addNews(perception.text);
  }
  say(perception.text);
}

function showLabels(perception) {
  $("sentence").textContent = perception.text;
  const rows = perception.labels.map((label) => {
    const row = document.createElement("li");
    const name = document.createElement("span");
    name.className = "label";
    name.textContent = label.label.replaceAll("_", " ");
    const bar = document.createElement("div");
    bar.className = "bar";
    bar.style.width = `${Math.round(label.score * 100)}%`;
    const score = document.createElement("span");
    score.className = "score";
    score.textContent = `${Math.round(label.score * 100)}%`;
    row.append(name, bar, score);
    return row;
  });
  $("labels").replaceChildren(...rows);
}

function addNews(text, snapshot) {
  const item = document.createElement("li");
  const when = document.createElement("time");
  when.textContent = new Date().toLocaleTimeString();
  item.append(when, text);
  if (snapshot) {
    const image = document.createElement("img");
    image.src = `data:${snapshot.content_type};base64,${snapshot.data}`;
    image.alt = "snapshot";
    item.append(image);
  }
  $("feed").prepend(item);
  while ($("feed").children.length > 50) $("feed").lastChild.remove();
  return item;
}

// An alert; each stranger in it is shown, with a box to say who it is.
function addAlert(alert) {
  const item = addNews(`Alert (${alert.rule}): ${alert.perception.text}`, alert.snapshot);
  if (!alert.snapshot) return;
  for (const label of alert.perception.labels) {
    if (label.label === "stranger" && label.box) item.append(nameForm(alert, label.box));
  }
}

function nameForm(alert, box) {
  const form = document.createElement("form");
  form.className = "name";
  const face = faceOf(alert.snapshot, box);
  const name = document.createElement("input");
  name.placeholder = "Who is this?";
  name.required = true;
  const button = document.createElement("button");
  button.textContent = "Name";
  form.append(face, name, button);
  form.onsubmit = (event) => {
    event.preventDefault();
    if (!isOpen()) return notice("Not connected: name this face once the page is back online.");
    const perception = alert.perception;
    const naming = { type: "name", name: name.value, source: perception.source, frame: perception.cause, box };
    state.socket.send(JSON.stringify(naming));
    form.replaceChildren(face, `This is ${name.value}: the brain will know them from now on.`);
  };
  return form;
}

// The face cut out of the snapshot: the box is in frame pixels, the snapshot is smaller.
function faceOf(snapshot, box) {
  const canvas = document.createElement("canvas");
  canvas.className = "face";
  const scale = snapshot.scale || 1;
  canvas.width = Math.max(1, Math.round(box.width * scale));
  canvas.height = Math.max(1, Math.round(box.height * scale));
  const image = new Image();
  image.onload = () => {
    const [x, y] = [box.x * scale, box.y * scale];
    canvas.getContext("2d").drawImage(image, x, y, canvas.width, canvas.height, 0, 0, canvas.width, canvas.height);
    canvas.dataset.drawn = "true";
  };
  image.src = `data:${snapshot.content_type};base64,${snapshot.data}`;
  return canvas;
}

// -- the review: what happened, with snapshots and clips ---------------------------------

async function review() {
  const params = new URLSearchParams();
  for (const [key, id] of [["source", "review-source"], ["rule", "review-rule"], ["day", "review-day"]]) {
    if ($(id).value) params.set(key, $(id).value);
  }
  let found;
  try {
    const response = await fetch(`review/events?${params}`);
    if (!response.ok) return notice(await response.text());
    found = await response.json();
  } catch (error) {
    return; // offline: the next try will do
  }
  fillChoices("review-source", found.sources, "every camera");
  fillChoices("review-rule", found.rules, "every rule");
  $("review-list").replaceChildren(...found.events.map(reviewItem));
  $("review-empty").hidden = found.events.length > 0;
}

function fillChoices(id, values, all) {
  const chosen = $(id).value;
  const options = values.map((value) => new Option(value, value, false, value === chosen));
  $(id).replaceChildren(new Option(all, ""), ...options);
}

function reviewItem(event) {
  const item = document.createElement("li");
  item.id = `review-${event.id}`;
  const when = document.createElement("time");
  when.dateTime = event.at;
  when.textContent = new Date(event.at).toLocaleString();
  const who = event.who.length ? ` (${event.who.join(", ")})` : "";
  const muted = event.armed ? "" : " [disarmed]";
  item.append(when, ` ${event.rule} at ${event.source}: ${event.text}${who}${muted}`);
  if (event.snapshot) {
    const image = document.createElement("img");
    image.src = event.snapshot;
    image.alt = "snapshot";
    item.append(image);
  }
  if (event.clip) {
    const video = document.createElement("video");
    video.src = event.clip;
    video.controls = true;
    video.muted = true;
    video.playsInline = true;
    video.preload = "metadata";
    item.append(video);
  }
  return item;
}

// -- the alert rules: armed or not, with a switch ----------------------------------------

function showRule(rule, ruleState) {
  const id = `rule-${rule}`;
  let row = document.getElementById(id);
  if (ruleState === "removed") {
    if (row) row.remove();
    $("rules").hidden = !$("rule-list").children.length;
    return;
  }
  if (!row) {
    row = document.createElement("li");
    row.id = id;
    const button = document.createElement("button");
    button.type = "button";
    button.onclick = () => {
      if (!isOpen()) return notice("Not connected: arm or disarm once the page is back online.");
      const armed = button.getAttribute("aria-pressed") !== "true";
      state.socket.send(JSON.stringify({ type: "arm", rule, armed }));
    };
    row.append(button);
    $("rule-list").append(row);
  }
  const armed = ruleState === "armed";
  const button = row.querySelector("button");
  button.textContent = `${rule}: ${armed ? "armed" : "disarmed"}`;
  button.setAttribute("aria-pressed", String(armed));
  $("rules").hidden = false;
}

function notice(text) {
  $("notice").textContent = text;
  $("notice").hidden = false;
  clearTimeout(notice.timer);
  notice.timer = setTimeout(() => ($("notice").hidden = true), 5000);
}

// -- the voice --------------------------------------------------------------------------

function say(text) {
  if (!$("speak").checked || !("speechSynthesis" in window)) return;
  const now = performance.now() / 1000;
  if (text === state.lastSaid.text && now - state.lastSaid.at < REPEAT_SECONDS) return;
  state.lastSaid = { text, at: now };
  const utterance = new SpeechSynthesisUtterance(text);
  const voice = speechSynthesis.getVoices().find((v) => v.voiceURI === $("voice").value);
  if (voice) utterance.voice = voice;
  speechSynthesis.cancel(); // the newest perception is the one worth hearing
  speechSynthesis.speak(utterance);
}

function listVoices() {
  const chosen = localStorage.getItem("brain-voice") || "";
  const options = speechSynthesis.getVoices().map((voice) => {
    const option = new Option(`${voice.name} (${voice.lang})`, voice.voiceURI);
    option.selected = voice.voiceURI === chosen;
    return option;
  });
  $("voice").replaceChildren(new Option("default voice", ""), ...options);
}

// -- the ear ----------------------------------------------------------------------------

// What the user said (recognised or typed) goes up as a transcript; the cortex answers
// voice commands with commands for this page's camera.
function heard(text, confidence) {
  const words = text.trim();
  if (!words || !isOpen()) return false;
  const transcript = { type: "transcript", text: words, final: true, lang: navigator.language || "en" };
  if (confidence) transcript.confidence = confidence;
  state.socket.send(JSON.stringify(transcript));
  return true;
}

function setUpListening() {
  const Recognition = window.SpeechRecognition || window.webkitSpeechRecognition;
  if (!Recognition) return;
  const recognition = new Recognition();
  recognition.continuous = true;
  recognition.lang = navigator.language || "en-US";
  recognition.onresult = (event) => {
    for (let i = event.resultIndex; i < event.results.length; i++) {
      const best = event.results[i][0];
      if (event.results[i].isFinal) heard(best.transcript, best.confidence);
    }
  };
  recognition.onend = () => state.listening && recognition.start(); // it stops on silence
  recognition.onerror = (event) => notice(`Speech recognition: ${event.error}`);
  $("listen").hidden = false;
  $("listen").onclick = () => {
    state.listening = !state.listening;
    $("listen").textContent = state.listening ? "Stop listening" : "Listen";
    $("listen").setAttribute("aria-pressed", String(state.listening));
    if (state.listening) recognition.start();
    else recognition.stop();
  };
}

// -- wiring -------------------------------------------------------------------------------

function main() {
  $("source").value = source();
  $("source").onchange = () => {
    localStorage.setItem("brain-source", $("source").value);
    const old = state.socket;
    state.socket = null;
    if (old) old.close();
    connect();
  };
  $("eye").onclick = () => setEye(!state.eyeOpen);
  $("fps").onchange = () => setFps(Math.max(0.2, Number($("fps").value) || 1));
  $("flip").onclick = () => {
    state.facing = state.facing === "user" ? "environment" : "user";
    startCamera();
  };
  $("say").onsubmit = (event) => {
    event.preventDefault();
    if (heard($("words").value)) $("words").value = "";
  };
  if ("speechSynthesis" in window) {
    listVoices();
    speechSynthesis.onvoiceschanged = listVoices;
    $("voice").onchange = () => localStorage.setItem("brain-voice", $("voice").value);
  }
  setUpListening();
  $("review-filters").onsubmit = (event) => {
    event.preventDefault();
    review();
  };
  review();
  connect();
  startCamera().then(() => setEye(new URLSearchParams(location.search).get("eye") !== "closed"));
}

// For tests and benchmarks, and for whoever opens the console.
window.brain = { state, sendFrame, heard, setEye, setFps, review };
main();
