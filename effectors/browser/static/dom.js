// What every view uses: finding and making elements, asking the node, telling the user.

export const $ = (id) => document.getElementById(id);

// An element with its attributes (and properties, for "on..." handlers) and children.
export function el(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") || key in { textContent: 1, value: 1 }) element[key] = value;
    else element.setAttribute(key, value === true ? "" : String(value));
  }
  element.append(...children.filter((child) => child !== null && child !== undefined));
  return element;
}

// JSON from the node; on a refusal its sentence is shown and null returned.
export async function ask(url, options = {}) {
  let response;
  try {
    response = await fetch(url, options);
  } catch (error) {
    notice("The brain cannot be reached: is its browser node running?");
    return null;
  }
  if (!response.ok) {
    notice((await response.text()).trim() || `${url}: ${response.status}`);
    return null;
  }
  return response.json();
}

// A change, as JSON (or a photo, as it is), to the node.
export function send(url, body, method = "POST") {
  const isPhoto = body instanceof Blob;
  return ask(url, {
    method,
    body: isPhoto ? body : JSON.stringify(body ?? {}),
    headers: { "Content-Type": isPhoto ? body.type || "image/jpeg" : "application/json" },
  });
}

export function notice(text) {
  $("notice").textContent = text;
  $("notice").hidden = false;
  clearTimeout(notice.timer);
  notice.timer = setTimeout(() => ($("notice").hidden = true), 8000);
}

// "alice" -> "Alice", "anna-maria" -> "Anna Maria": how a label is read out.
export function said(label) {
  return label.split(/[-_]/).map((word) => word.charAt(0).toUpperCase() + word.slice(1)).join(" ");
}

export function timeOf(iso) {
  return new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

export function lasting(seconds) {
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

export function bytes(count) {
  if (count === null || count === undefined) return "unknown";
  const units = ["B", "kB", "MB", "GB", "TB"];
  let unit = 0;
  while (count >= 1000 && unit < units.length - 1) [count, unit] = [count / 1000, unit + 1];
  return `${count.toFixed(unit ? 1 : 0)} ${units[unit]}`;
}
