// bulkload serve: the little a page needs beyond HTML. Text from a sheet or a run is
// only ever set with textContent, never parsed as HTML.
"use strict";

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

function uploader() {
  const status = document.getElementById("upload-status");
  const box = document.getElementById("upload-error");

  function fail(message, hint) {
    status.textContent = "";
    document.getElementById("upload-message").textContent = message;
    document.getElementById("upload-hint").textContent = hint || "";
    box.hidden = false;
  }

  // POST the file's bytes (streamed, no form encoding) with its name and the CSRF token;
  // the answer says where to look next (its problems, when it has any), or what went wrong.
  return async function send(url, file, limit, limitText) {
    box.hidden = true;
    if (limit && file.size > limit) {
      fail(file.name + " is larger than the upload limit of " + limitText +
        "; nothing was sent", "restart bulkload serve with a larger --max-upload-mb");
      return;
    }
    status.textContent = "Uploading and checking " + file.name + " …";
    let answer;
    try {
      answer = await fetch(url, {
        method: "POST",
        body: file,
        headers: {
          "Content-Type": "application/octet-stream",
          "X-File-Name": encodeURIComponent(file.name),
          "X-CSRF-Token": csrfToken(),
        },
        credentials: "same-origin",
      });
    } catch (error) {
      fail("The upload did not reach the server: " + error.message, "");
      return;
    }
    let body = {};
    try { body = await answer.json(); } catch (error) { body = { error: answer.statusText }; }
    if (answer.ok && (body.next || body.location)) {
      window.location.assign(body.next || body.location);
    } else {
      fail(body.error || ("The server answered " + answer.status), body.hint);
    }
  };
}

function dropOnto(target, go) {
  for (const name of ["dragenter", "dragover"]) {
    target.addEventListener(name, (event) => { event.preventDefault(); target.classList.add("over"); });
  }
  for (const name of ["dragleave", "drop"]) {
    target.addEventListener(name, () => target.classList.remove("over"));
  }
  target.addEventListener("drop", (event) => {
    event.preventDefault();
    if (event.dataTransfer.files.length) go(event.dataTransfer.files[0]);
  });
}

function setupUpload() {
  const send = uploader();
  const form = document.getElementById("upload");
  if (form) {
    const input = document.getElementById("sheet-file");
    const limit = Number(form.dataset.limit);
    const go = (file) => send("/upload", file, limit, form.dataset.limitText);
    input.addEventListener("change", () => { if (input.files.length) go(input.files[0]); });
    form.addEventListener("submit", (event) => event.preventDefault());
    dropOnto(form, go);
  }
  for (const input of document.querySelectorAll("input[data-upload]")) {
    const go = (file) => send(input.dataset.upload, file, 0, "");
    input.addEventListener("change", () => { if (input.files.length) go(input.files[0]); });
    for (const target of document.querySelectorAll('[data-drop="' + input.id + '"]')) {
      dropOnto(target, go);
    }
  }
}

function setupFilters() {
  const form = document.getElementById("filters");
  if (!form) return;
  for (const select of form.querySelectorAll("select")) {
    select.addEventListener("change", () => form.submit());
  }
}

// Times come as UTC from the server: shown in this browser's own time zone.
function setupTimes() {
  const format = new Intl.DateTimeFormat(undefined, {
    day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit",
  });
  for (const element of document.querySelectorAll("time[data-local]")) {
    const moment = new Date(element.dateTime);
    if (!Number.isNaN(moment.getTime())) {
      element.textContent = format.format(moment);
      element.title = moment.toString();
    }
  }
}

function showProgress(section, data) {
  section.dataset.state = data.state;
  const headline = document.getElementById("headline");
  if (headline) headline.className = "headline " + data.state;
  for (const element of section.querySelectorAll("[data-field]")) {
    const field = element.dataset.field;
    if (field === "bar") {
      element.max = Math.max(data.batches, 1);
      element.value = data.done;
    } else if (field === "recent") {
      element.replaceChildren(...data.recent.map((line) => {
        const item = document.createElement("li");
        item.textContent = line;
        return item;
      }));
    } else if (field === "failure") {
      element.textContent = data.failure ? data.failure + " " + data.hint : "";
      element.hidden = !data.failure;
    } else if (field in data) {
      element.textContent = typeof data[field] === "number"
        ? data[field].toLocaleString("en") : String(data[field]);
    }
  }
  const stop = document.getElementById("stop-button");
  if (stop && data.state === "stopping") {
    stop.disabled = true;
    stop.textContent = "Stopping…";
  }
}

function setupProgress() {
  const section = document.getElementById("progress");
  if (!section || !section.dataset.events) return;
  const source = new EventSource(section.dataset.events);
  source.addEventListener("progress", (event) => showProgress(section, JSON.parse(event.data)));
  source.addEventListener("done", () => {
    // The bar stays full a moment, then the page comes back with the results.
    source.close();
    section.dataset.live = "ended";
    const headline = section.querySelector('[data-field="headline"]');
    if (headline) headline.textContent += " (loading the results…)";
    window.setTimeout(() => window.location.reload(), 800);
  });
}

// Stop says so at once; the form still posts (the server's page says "stopping" too).
function setupStop() {
  const form = document.getElementById("stop-form");
  if (!form) return;
  form.addEventListener("submit", () => {
    const headline = document.querySelector('#progress [data-field="headline"]');
    if (headline) headline.textContent = "stopping: requests in flight finish first";
    const button = document.getElementById("stop-button");
    window.setTimeout(() => { button.disabled = true; button.textContent = "Stopping…"; }, 0);
  });
}

document.addEventListener("DOMContentLoaded", () => {
  setupUpload();
  setupFilters();
  setupTimes();
  setupProgress();
  setupStop();
});
