// The house's health: which nodes run, their key figures, errors, disk, false alarms.

import { $, ask, bytes, el, lasting } from "./dom.js";

export async function refreshHealth() {
  const found = await ask("health");
  if (!found) return;
  $("nodes").replaceChildren(...found.nodes.map(nodeItem));
  const disk = found.disk;
  $("disk").textContent = disk.free === null
    ? `No recordings yet in ${disk.folder}.`
    : `Recordings ${bytes(disk.recordings)}, clips ${bytes(disk.clips)}; ${bytes(disk.free)} free (${disk.folder}).`;
  $("errors-title").textContent = `Errors in the last hour: ${found.errors_last_hour}`;
  $("errors").replaceChildren(
    ...found.errors.map((error) => el("li", {}, el("time", { datetime: error.at }, new Date(error.at).toLocaleTimeString()), ` ${error.node}: ${error.reason}`)),
  );
  $("false-alarms").textContent = `False alarms marked: ${found.false_alarms}`;
}

function nodeItem(node) {
  const figures = Object.entries(node.key).map(([name, value]) => el("span", { class: "figure" }, `${name.replaceAll("_", " ")} ${shown(value)}`));
  const others = Object.entries(node.figures);
  const more = others.length
    ? el("details", {}, el("summary", {}, "all figures"), el("dl", {}, ...others.flatMap(([name, value]) => [el("dt", {}, name), el("dd", {}, shown(value))])))
    : null;
  const uptime = node.uptime_s === null ? "" : ` · up ${lasting(node.uptime_s)}`;
  return el(
    "li",
    { id: `node-${node.node.replace("/", "-")}`, class: `node ${node.status}` },
    el("strong", {}, node.node),
    el("span", { class: "pill" }, node.status),
    uptime,
    el("span", { class: "figures" }, ...figures),
    more,
  );
}

function shown(value) {
  return typeof value === "number" && !Number.isInteger(value) ? value.toFixed(1) : String(value);
}
