// The visits timeline, by day: who came, where, when, for how long; open one to play its
// clip from the moment that mattered, name the visitor, or say it was no one.

import { $, ask, el, lasting, notice, send, timeOf } from "./dom.js";

let opened = null; // the visit in the dialog

export function startVisits() {
  $("visit-filters").onsubmit = (event) => {
    event.preventDefault();
    refreshVisits();
  };
  $("visit-close").onclick = () => $("visit").close();
  $("visit").onclose = () => $("visit-video").pause();
  $("visit-false").onclick = markFalseAlarm;
  $("visit-name").onsubmit = nameVisitor;
}

export async function refreshVisits() {
  const params = new URLSearchParams();
  for (const [key, id] of [["day", "visit-day"], ["camera", "visit-camera"], ["who", "visit-who"]]) {
    if ($(id).value) params.set(key, $(id).value);
  }
  const found = await ask(`visits?${params}`);
  if (!found) return;
  fillChoices("visit-camera", found.cameras, "every camera");
  fillChoices("visit-who", found.who, "anyone");
  const days = new Map();
  for (const visit of found.visits) {
    const day = new Date(visit.start).toDateString();
    if (!days.has(day)) days.set(day, []);
    days.get(day).push(visitItem(visit));
  }
  const sections = [...days].map(([day, items]) =>
    el("section", { class: "day" }, el("h3", {}, dayName(day)), el("ol", { class: "timeline" }, ...items)),
  );
  $("timeline").replaceChildren(...sections);
  $("visits-empty").hidden = found.visits.length > 0;
}

function dayName(day) {
  const today = new Date();
  if (day === today.toDateString()) return "Today";
  if (day === new Date(today - 86_400_000).toDateString()) return "Yesterday";
  return new Date(day).toLocaleDateString([], { weekday: "long", day: "numeric", month: "long" });
}

function fillChoices(id, values, all) {
  const chosen = $(id).value;
  const options = values.map((value) => new Option(value, value, false, value === chosen));
  $(id).replaceChildren(new Option(all, ""), ...options);
}

// One visit as a row: its best view, who, where, when and how long.
export function visitItem(visit) {
  const length = visit.ongoing ? "going on" : visit.seconds ? lasting(visit.seconds) : "";
  const thumbnail = visit.thumbnail
    ? el("img", { src: visit.thumbnail, alt: "", loading: "lazy", class: "thumb" })
    : el("span", { class: "thumb none" });
  const tags = [...visit.rules.map((rule) => `alert ${rule}`), visit.clip ? "clip" : null];
  if (visit.false_alarm) tags.push("false alarm");
  const button = el(
    "button",
    { type: "button", class: "visit", onclick: () => openVisit(visit) },
    thumbnail,
    el(
      "span",
      { class: "what" },
      el("span", {}, el("strong", {}, visit.who), ` at ${visit.camera}`),
      el("span", { class: "when" }, `${timeOf(visit.start)}${length ? ` · ${length}` : ""}`),
      el("span", { class: "tags" }, tags.filter(Boolean).join(" · ")),
    ),
  );
  return el("li", { id: `visit-${visit.id}`, class: visit.false_alarm ? "false-alarm" : null }, button);
}

function openVisit(visit) {
  opened = visit;
  $("visit-title").textContent = `${visit.who} at ${visit.camera}, ${timeOf(visit.start)}`;
  $("visit-text").textContent = visit.text;
  const video = $("visit-video");
  video.hidden = !visit.clip;
  $("visit-image").hidden = Boolean(visit.clip) || !visit.thumbnail;
  if (visit.clip) {
    video.poster = visit.thumbnail || "";
    video.src = visit.clip;
    video.onloadedmetadata = () => (video.currentTime = Math.min(visit.moment || 0, video.duration || 0));
  } else {
    video.removeAttribute("src");
    if (visit.thumbnail) $("visit-image").src = visit.thumbnail;
  }
  $("visit-image").alt = `best view of ${visit.who}`;
  $("visit-name").hidden = visit.kind !== "visit";
  showFalseAlarm(visit.false_alarm);
  $("visit").showModal();
}

function showFalseAlarm(marked) {
  $("visit-false").setAttribute("aria-pressed", String(marked));
  $("visit-false").textContent = marked ? "Marked: not a person" : "Not a person";
}

async function markFalseAlarm() {
  const marked = $("visit-false").getAttribute("aria-pressed") !== "true";
  const done = await send(`visits/${opened.id}/false-alarm`, { false_alarm: marked });
  if (!done) return;
  opened.false_alarm = done.false_alarm;
  showFalseAlarm(done.false_alarm);
  refreshVisits();
}

async function nameVisitor(event) {
  event.preventDefault();
  const name = $("visit-person").value;
  notice(`Looking for ${name}'s face in this visit...`);
  const done = await send(`visits/${opened.id}/name`, { name });
  if (!done) return;
  notice(`This is ${name}: the brain knows them from now on (${done.faces} face${done.faces > 1 ? "s" : ""}).`);
  $("visit-person").value = "";
  $("visit").close();
}
