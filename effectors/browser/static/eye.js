// This device as one more camera and microphone: its webcam's frames go up the websocket,
// what the brain perceives in them comes back and is said; what the user says goes up.

import { $, el, notice } from "./dom.js";

const REPEAT_SECONDS = 5; // the same sentence is not said twice within this
const FRAME_WIDTH = 640; // wider video is shrunk before it is sent
const MAX_BUFFERED = 1_000_000; // bytes waiting in the socket: skip frames rather than queue them

export const eye = {
  socket: null,
  eyeOpen: false,
  fps: 2,
  facing: "user",
  stream: null,
  timer: null,
  seq: 0,
  sentAt: new Map(), // frame seq -> performance.now() when captured
  roundTrips: [], // ms from capturing a frame to showing its perception
  lastSaid: { text: "", at: 0 },
  listening: false,
};

function isOpen() {
  return eye.socket && eye.socket.readyState === WebSocket.OPEN;
}

// -- the webcam ---------------------------------------------------------------------

// Open the webcam; the honest sentence when there is none, or it is not allowed.
export async function startCamera() {
  if (eye.stream) eye.stream.getTracks().forEach((track) => track.stop());
  if (!navigator.mediaDevices) return noWebcam("This page can use a camera only over https (or on localhost).");
  try {
    eye.stream = await navigator.mediaDevices.getUserMedia({
      video: { facingMode: eye.facing, width: { ideal: FRAME_WIDTH } },
      audio: false,
    });
  } catch (error) {
    const why = {
      NotFoundError: "This device has no camera; the brain's own cameras are above.",
      NotAllowedError: "The camera is not allowed for this page: allow it in the browser's site settings.",
      NotReadableError: "The camera is in use by another program: close it, then reload.",
    };
    return noWebcam(why[error.name] || `The camera did not open (${error.name}: ${error.message}).`);
  }
  $("video").srcObject = eye.stream;
  $("no-webcam").hidden = true;
  $("device-tile").hidden = false; // one more camera in the grid
  $("device").open = true;
  const cameras = (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === "videoinput");
  $("flip").hidden = cameras.length < 2;
  return true;
}

function noWebcam(sentence) {
  $("no-webcam").textContent = sentence;
  $("no-webcam").hidden = false;
  $("device").open = true;
  for (const unused of [$("device-tile"), $("eye"), $("fps").parentElement]) unused.hidden = true;
  setEye(false);
  return false;
}

export function setEye(open) {
  eye.eyeOpen = open;
  $("eye").textContent = open ? "Close the eye" : "Open the eye";
  $("eye").setAttribute("aria-pressed", String(open));
  scheduleFrames();
}

export function setFps(fps) {
  eye.fps = fps;
  $("fps").value = String(fps);
  scheduleFrames();
}

function scheduleFrames() {
  clearInterval(eye.timer);
  eye.timer = null;
  if (eye.eyeOpen && eye.fps > 0) eye.timer = setInterval(sendFrame, 1000 / eye.fps);
}

// One frame from the video, as JPEG, up the websocket. Resolves to its seq, or null.
export async function sendFrame() {
  const video = $("video");
  if (!isOpen() || !video.videoWidth || eye.socket.bufferedAmount > MAX_BUFFERED) return null;
  const scale = Math.min(1, FRAME_WIDTH / video.videoWidth);
  const canvas = document.createElement("canvas");
  canvas.width = Math.round(video.videoWidth * scale);
  canvas.height = Math.round(video.videoHeight * scale);
  canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
  const captured = performance.now();
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.8));
  if (!blob || !isOpen()) return null;
  eye.socket.send(await blob.arrayBuffer());
  const seq = eye.seq++;
  eye.sentAt.set(seq, captured);
  if (eye.sentAt.size > 256) eye.sentAt.delete(eye.sentAt.keys().next().value);
  return seq;
}

export function obey(command) {
  if (command === "open") setEye(true);
  else if (command === "close") setEye(false);
  else if (command === "snapshot") sendFrame();
}

// A perception of this page's own frames (or a mention): shown on the eye and said.
export function perceive(perception, seq) {
  if (perception.kind === "vision") {
    showLabels(perception);
    if (seq !== undefined && eye.sentAt.has(seq)) eye.roundTrips.push(performance.now() - eye.sentAt.get(seq));
  }
  say(perception.text);
}

function showLabels(perception) {
  $("sentence").textContent = perception.text;
  const rows = perception.labels.map((label) => {
    const percent = `${Math.round(label.score * 100)}%`;
    const bar = el("div", { class: "bar" });
    bar.style.width = percent;
    return el("li", {}, el("span", { class: "label" }, label.label.replaceAll("_", " ")), bar, el("span", { class: "score" }, percent));
  });
  $("labels").replaceChildren(...rows);
}

// -- the voice ---------------------------------------------------------------------------

function say(text) {
  if (!$("speak").checked || !("speechSynthesis" in window)) return;
  const now = performance.now() / 1000;
  if (text === eye.lastSaid.text && now - eye.lastSaid.at < REPEAT_SECONDS) return;
  eye.lastSaid = { text, at: now };
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

// -- the ear -----------------------------------------------------------------------------

// What the user said (recognised or typed) goes up as a transcript; the cortex answers
// voice commands with commands for this page's camera.
export function heard(text, confidence) {
  const words = text.trim();
  if (!words || !isOpen()) return false;
  const transcript = { type: "transcript", text: words, final: true, lang: navigator.language || "en" };
  if (confidence) transcript.confidence = confidence;
  eye.socket.send(JSON.stringify(transcript));
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
  recognition.onend = () => eye.listening && recognition.start(); // it stops on silence
  recognition.onerror = (event) => notice(`Speech recognition: ${event.error}`);
  $("listen").hidden = false;
  $("listen").onclick = () => {
    eye.listening = !eye.listening;
    $("listen").textContent = eye.listening ? "Stop listening" : "Listen";
    $("listen").setAttribute("aria-pressed", String(eye.listening));
    if (eye.listening) recognition.start();
    else recognition.stop();
  };
}

export function startEye(openAtStart) {
  eye.fps = Number($("fps").value);
  $("eye").onclick = () => setEye(!eye.eyeOpen);
  $("fps").onchange = () => setFps(Math.max(0.2, Number($("fps").value) || 1));
  $("flip").onclick = () => {
    eye.facing = eye.facing === "user" ? "environment" : "user";
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
  startCamera().then((opened) => opened && setEye(openAtStart));
}
