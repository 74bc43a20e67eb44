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
  // the answer says where to look next, or what went wrong.
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
    if (answer.ok && body.location) {
      window.location.assign(body.location);
    } else {
      fail(body.error || ("The server answered " + answer.status), body.hint);
    }
  };
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
    for (const name of ["dragenter", "dragover"]) {
      form.addEventListener(name, (event) => { event.preventDefault(); form.classList.add("over"); });
    }
    for (const name of ["dragleave", "drop"]) {
      form.addEventListener(name, () => form.classList.remove("over"));
    }
    form.addEventListener("drop", (event) => {
      event.preventDefault();
      if (event.dataTransfer.files.length) go(event.dataTransfer.files[0]);
    });
  }
  for (const input of document.querySelectorAll("input[data-upload]")) {
    input.addEventListener("change", () => {
      if (input.files.length) send(input.dataset.upload, input.files[0], 0, "");
    });
  }
}

function setupFilters() {
  const form = document.getElementById("filters");
  if (!form) return;
  for (const select of form.querySelectorAll("select")) {
    select.addEventListener("change", () => form.submit());
  }
}

function showProgress(section, data) {
  section.dataset.state = data.state;
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
    } else if (field === "stop_reason") {
      element.textContent = data.stop_reason ? "stopped: " + data.stop_reason : "";
    } else if (field in data) {
      element.textContent = String(data[field]);
    }
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
    const state = section.querySelector('[data-field="state"]');
    if (state) state.textContent += " (loading the results…)";
    window.setTimeout(() => window.location.reload(), 800);
  });
}

document.addEventListener("DOMContentLoaded", () => {
  setupUpload();
  setupFilters();
  setupProgress();
});
