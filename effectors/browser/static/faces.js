// The face library: the family with their faces (add a photo, rename, remove), and the
// strangers' faces seen lately, grouped when they are one face, each one name away.

import { $, ask, el, notice, said, send } from "./dom.js";

export function startFaces() {
  $("add-person").onsubmit = async (event) => {
    event.preventDefault();
    const [photo] = $("new-photo").files;
    if (await addPhoto($("new-name").value, photo)) $("add-person").reset();
  };
}

export async function refreshFaces() {
  const found = await ask("faces");
  if (!found) return;
  $("faces-unavailable").hidden = found.available;
  $("faces-unavailable").textContent = `Faces cannot be told apart here: ${found.why}.`;
  $("people").replaceChildren(...found.people.map(personItem));
  if (!found.people.length) $("people").append(el("li", { class: "empty" }, "No one is enrolled yet."));
  $("strangers").replaceChildren(...found.strangers.map(strangerItem));
  $("strangers-empty").hidden = found.strangers.length > 0;
}

function faces(urls, who) {
  return el("span", { class: "faces" }, ...urls.map((src) => el("img", { src, alt: `a face of ${who}`, loading: "lazy" })));
}

function personItem(person) {
  const id = `person-${person.name}`;
  const upload = el("input", { type: "file", accept: "image/jpeg,image/png", multiple: true, class: "sr-only" });
  upload.onchange = async () => {
    for (const photo of upload.files) await addPhoto(person.name, photo);
  };
  const rename = el("input", { id: `${id}-rename`, required: true, autocomplete: "off", value: person.said });
  const renaming = el(
    "form",
    { class: "inline", onsubmit: (event) => renamed(event, person, rename.value) },
    el("label", { for: `${id}-rename`, class: "sr-only" }, `New name for ${person.said}`),
    rename,
    el("button", { type: "submit" }, "Rename"),
  );
  const remove = el("button", { type: "button", class: "danger", onclick: () => removed(person) }, `Remove ${person.said}`);
  return el(
    "li",
    { id, class: "person" },
    el("h4", {}, person.said),
    faces(person.faces, person.said),
    el("p", { class: "actions" }, el("label", { class: "button" }, "Add photos", upload), remove),
    renaming,
  );
}

function strangerItem(group) {
  const id = `stranger-${group.id}`;
  const name = el("input", { id: `${id}-name`, required: true, autocomplete: "off", placeholder: "Who is this?" });
  const form = el(
    "form",
    { class: "inline", onsubmit: (event) => nameStranger(event, group, name.value) },
    el("label", { for: `${id}-name`, class: "sr-only" }, "Who is this?"),
    name,
    el("button", { type: "submit" }, "Name"),
  );
  const seen = `${group.count} time${group.count > 1 ? "s" : ""} at ${group.cameras.join(", ")}, last ${new Date(group.last_seen).toLocaleTimeString()}`;
  return el("li", { id, class: "person" }, faces(group.faces, "a stranger"), el("p", {}, `Seen ${seen}`), form);
}

async function addPhoto(name, photo) {
  if (!photo) return notice("Choose a photo first.");
  notice(`Adding a photo of ${name}: finding the face takes a few seconds...`);
  const done = await send(`faces/people/${encodeURIComponent(name)}/photos`, photo);
  if (done) notice(`Added a face of ${said(done.name)}.`);
  await refreshFaces();
  return done;
}

async function renamed(event, person, name) {
  event.preventDefault();
  if (await send(`faces/people/${encodeURIComponent(person.name)}/rename`, { name })) {
    notice(`${person.said} is ${name} from now on.`);
  }
  refreshFaces();
}

async function removed(person) {
  if (!confirm(`Remove ${person.said} and delete every face of them?`)) return;
  if (await send(`faces/people/${encodeURIComponent(person.name)}`, null, "DELETE")) {
    notice(`${person.said} is forgotten: their faces are deleted.`);
  }
  refreshFaces();
}

async function nameStranger(event, group, name) {
  event.preventDefault();
  const done = await send(`faces/strangers/${group.id}/name`, { name });
  if (done) notice(`This is ${said(done.name)}: the brain knows them from the next frame on.`);
  refreshFaces();
}
