// The live grid: each camera's newest frame, with what the brain sees in it drawn on top.
//
// The node says a frame came ({"type": "frame", camera, id, at, fps, ...}); the tile fetches
// live/{camera} when it is done drawing the last one, so a slow link gets fewer frames,
// never a queue of old ones.

import { $, ask, el, said, timeOf } from "./dom.js";
import { visitItem } from "./visits.js";

const tiles = new Map(); // camera -> its tile
const BOXES_FOR_MS = 2500; // a perception's boxes stay drawn until a newer one, or this long
let staleAfter = 30; // seconds without a frame before a camera is offline (the node says)
let ownSource = null; // this page's own camera: its video is the "This device" tile
let chosen = null; // the camera shown large

// For the benchmark and whoever opens the console: ms from a frame's taking to its drawing.
export const latencies = [];

export async function startLive(source) {
  ownSource = source;
  $("camera-back").onclick = () => choose(null);
  setInterval(() => tiles.forEach(showState), 5000);
  const found = await ask("live");
  if (!found) return;
  staleAfter = found.stale_after;
  for (const camera of found.cameras) frameCame(camera);
  $("no-cameras").hidden = tiles.size > 0;
}

export function setOwnSource(source) {
  ownSource = source;
}

function tileOf(camera) {
  if (tiles.has(camera)) return tiles.get(camera);
  const canvas = el("canvas", { width: 320, height: 240 });
  const name = el("span", { class: "name" }, camera);
  const who = el("span", { class: "who" });
  const state = el("span", { class: "cam-state" });
  const button = el(
    "button",
    { type: "button", class: "tile", id: `tile-${camera}`, onclick: () => choose(camera) },
    canvas,
    el("span", { class: "caption" }, name, who, state),
  );
  const tile = {
    camera, canvas, who, state, button,
    image: null, drawnId: null, wanted: null, loading: false, // the frame drawn, the next
    perception: null, seenAt: 0, tracks: new Map(), // what is seen in it, who is there
    fps: 0, lastAt: 0, at: null, // how the camera is doing
  };
  $("grid").insertBefore(el("li", {}, button), $("device-tile")); // this device's camera last
  tiles.set(camera, tile);
  $("no-cameras").hidden = true;
  return tile;
}

export function frameCame(frame) {
  if (frame.camera === ownSource) return;
  const tile = tileOf(frame.camera);
  const age = (Date.now() - Date.parse(frame.at)) / 1000;
  Object.assign(tile, { wanted: frame, fps: frame.fps, at: frame.at });
  tile.lastAt = frame.online === false ? 0 : performance.now() - Math.max(0, age) * 1000;
  showState(tile);
  if (!tile.loading) load(tile);
}

async function load(tile) {
  tile.loading = true;
  while (tile.wanted) {
    const frame = tile.wanted;
    tile.wanted = null;
    try {
      const response = await fetch(`live/${encodeURIComponent(tile.camera)}`, { cache: "no-store" });
      if (!response.ok) continue;
      const id = response.headers.get("X-Frame-Id");
      const bitmap = await createImageBitmap(await response.blob());
      if (tile.image) tile.image.close();
      tile.image = bitmap;
      tile.drawnId = id;
      draw(tile);
      if (id === frame.id) latencies.push(Date.now() - Date.parse(frame.at));
      if (latencies.length > 10_000) latencies.shift();
    } catch (error) {
      break; // offline, or a frame that cannot be read: the next frame tries again
    }
  }
  tile.loading = false;
}

export function perceived(perception) {
  if (perception.sense !== "camera" || perception.source === ownSource) return;
  const tile = tileOf(perception.source);
  tile.perception = perception;
  tile.seenAt = performance.now();
  draw(tile);
}

export function tracked(track) {
  const tile = tileOf(track.source);
  if (track.state === "ended") tile.tracks.delete(track.track);
  else tile.tracks.set(track.track, track.who);
  const here = [...new Set(tile.tracks.values())];
  tile.who.textContent = here.length ? `${here.join(", ")} here` : "";
}

function draw(tile) {
  for (const canvas of [tile.canvas, tile.camera === chosen ? $("camera-view") : null]) {
    if (canvas && tile.image) paint(canvas, tile);
  }
}

// The frame, then each boxed label of the newest perception (scaled to the frame drawn).
function paint(canvas, tile) {
  const image = tile.image;
  if (canvas.width !== image.width || canvas.height !== image.height) {
    [canvas.width, canvas.height] = [image.width, image.height];
  }
  const context = canvas.getContext("2d");
  context.drawImage(image, 0, 0);
  const perception = tile.perception;
  const fresh = perception && performance.now() - tile.seenAt < BOXES_FOR_MS;
  const boxed = fresh ? drawn(perception.labels) : [];
  const scale = perception && perception.width ? image.width / perception.width : 1;
  const size = Math.max(14, Math.round(image.width / 28));
  context.lineWidth = Math.max(3, image.width / 160);
  context.font = `600 ${size}px system-ui, sans-serif`;
  for (const label of boxed) {
    const [x, y, width, height] = [label.box.x, label.box.y, label.box.width, label.box.height].map((v) => v * scale);
    context.strokeStyle = context.fillStyle = colourOf(label);
    context.strokeRect(x, y, width, height);
    // The name on a tag of the box's colour, above the box (inside it at the frame's top).
    const name = nameOf(label);
    const top = y >= size + 6 ? y - size - 6 : y;
    context.fillRect(x - context.lineWidth / 2, top, context.measureText(name).width + 10, size + 6);
    context.fillStyle = "#000";
    context.fillText(name, x + 5, top + size);
  }
  canvas.setAttribute("aria-label", describe(tile, boxed));
  tile.button.dataset.frame = tile.drawnId;
  tile.button.dataset.boxes = String(boxed.length);
  tile.button.dataset.labels = boxed.map(nameOf).join(",");
}

// The boxed labels, one per box: a face told apart is its name, not "person" as well.
function drawn(labels) {
  const told = labels.filter((label) => label.box && isTold(label));
  const same = (a, b) => a.x === b.x && a.y === b.y && a.width === b.width && a.height === b.height;
  return labels.filter((label) => label.box && (isTold(label) || !told.some((t) => same(t.box, label.box))));
}

function isTold(label) {
  return label.distance !== null && label.distance !== undefined;
}

function nameOf(label) {
  if (label.label === "stranger") return "a stranger";
  return isTold(label) ? said(label.label) : label.label;
}

function colourOf(label) {
  if (label.label === "stranger") return "#ff5252";
  return isTold(label) ? "#69f0ae" : "#ffd740";
}

function describe(tile, boxed) {
  const seen = boxed.length ? `: ${boxed.map(nameOf).join(", ")}` : "";
  return `${tile.camera}, newest frame${seen}`;
}

function showState(tile) {
  const online = performance.now() - tile.lastAt < staleAfter * 1000;
  const seen = tile.at ? `seen ${timeOf(tile.at)}` : "";
  tile.state.textContent = online ? `online · ${tile.fps} fps · ${seen}` : `offline · ${seen}`;
  tile.button.classList.toggle("offline", !online);
  tile.button.setAttribute("aria-label", `${tile.camera}, ${online ? "online" : "offline"}: show it larger`);
  if (tile.camera === chosen) $("camera-state").textContent = tile.state.textContent;
}

// Tap a camera: larger, with its last visits; null: back to the grid.
async function choose(camera) {
  chosen = camera;
  $("camera").hidden = camera === null;
  $("grid").hidden = camera !== null;
  if (camera === null) return;
  $("camera-title").textContent = camera;
  const tile = tiles.get(camera);
  draw(tile);
  showState(tile);
  const found = await ask(`visits?${new URLSearchParams({ camera })}`);
  const items = found ? found.visits.slice(0, 5).map(visitItem) : [];
  $("camera-visits").replaceChildren(...items);
  if (!items.length) $("camera-visits").append(el("li", { class: "empty" }, "No visit recorded here yet."));
  $("camera-back").focus();
}
