// listwatch web UI: a little vanilla JS. Everything works without it, only less smoothly.
"use strict";

// "/" focuses the search box (or goes to the search page), unless the user is typing.
document.addEventListener("keydown", (event) => {
  if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
  const target = event.target;
  if (target && (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName))) return;
  const box = document.querySelector("[data-search-box]");
  event.preventDefault();
  if (box) { box.focus(); box.select(); } else { window.location.href = "/"; }
});

// Screening upload: show the upload's progress, then follow to the job page.
const uploadForm = document.querySelector("form[data-upload]");
if (uploadForm) {
  uploadForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const box = uploadForm.querySelector("[data-upload-progress]");
    const bar = box.querySelector("progress");
    const button = uploadForm.querySelector("button[type=submit]");
    box.hidden = false;
    button.disabled = true;
    const request = new XMLHttpRequest();
    request.open("POST", uploadForm.action);
    request.upload.addEventListener("progress", (e) => { if (e.lengthComputable) bar.value = (100 * e.loaded) / e.total; });
    request.addEventListener("load", () => {
      if (request.status < 400 && request.responseURL) { window.location.href = request.responseURL; return; }
      document.open(); document.write(request.responseText); document.close();
    });
    request.addEventListener("error", () => { button.disabled = false; box.hidden = true; alert("The upload failed: check the connection and try again."); });
    request.send(new FormData(uploadForm));
  });
}

// Screening job: poll its JSON twin (/api/v1/jobs/{job}) until the run is stored, then open it.
const job = document.querySelector("#job[data-job]");
if (job && job.dataset.status === "done" && job.dataset.run) {  // finished before the page loaded
  window.location.href = `/runs/${encodeURIComponent(job.dataset.run)}`;
}
if (job && !["done", "failed"].includes(job.dataset.status)) {
  const bar = job.querySelector("progress");
  const status = job.querySelector("#job-status");
  const poll = async () => {
    let data;
    try {
      const response = await fetch(`/api/v1/jobs/${encodeURIComponent(job.dataset.job)}`, { headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error(String(response.status));
      data = await response.json();
    } catch (err) { status.textContent = "Lost contact with the server; retrying…"; setTimeout(poll, 2000); return; }
    const { done, total } = data.progress;
    if (total) { bar.max = total; bar.value = done; }
    if (data.status === "done") {
      status.textContent = `Done: ${data.result.run}. Opening the results…`;
      window.location.href = `/runs/${encodeURIComponent(data.result.run)}`;
    } else if (data.status === "failed") {
      status.textContent = `Failed: ${data.error}`;
      status.classList.add("error");
    } else {
      status.textContent = data.status === "queued" ? "Waiting for the screening worker…" : `${done} of ${total} rows screened…`;
      setTimeout(poll, 400);
    }
  };
  poll();
}
