// gaitlab app: the little behaviour the pages need. No inline scripts (the CSP forbids them); each part
// starts only when its page's elements are there. Text from the server is set with textContent, never HTML.
"use strict";

const csrf = document.querySelector('meta[name="csrf"]').content;
const $ = (id) => document.getElementById(id);

// Deleting or cancelling asks first.
document.querySelectorAll("form[data-confirm]").forEach((form) => {
  form.addEventListener("submit", (e) => {
    if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) e.preventDefault();
  });
});

// ---- new analysis: upload or record, then send the clip ---------------------------------------------
const settings = $("settings");
if (settings) {
  const maxBytes = Number(settings.dataset.maxBytes);
  const message = $("message");
  const busy = (on) => document.querySelectorAll("#upload input, #record button, #record select")
    .forEach((el) => { el.disabled = on; });

  const fail = (text) => {
    message.textContent = text;
    message.hidden = false;
    $("sending").hidden = true;
    busy(false);
    $("record-start").disabled = !stream;
  };

  // The clip is the request body; the settings and the file's name go in the query string.
  const send = (blob, name, source) => {
    message.hidden = true;
    if (blob.size > maxBytes) return fail(`The file is larger than the ${Number((maxBytes / 1024 ** 3).toPrecision(3))} GB limit: trim it to 10–60 s of walking or running.`);
    if (!settings.reportValidity()) return;
    const f = new FormData(settings);
    const query = new URLSearchParams({
      name, source, date: f.get("date"), view: f.get("view"), threshold: f.get("threshold"),
      blur: f.get("blur") ? "1" : "0", video: f.get("video") ? "1" : "0",
    });
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `${settings.dataset.upload}?${query}`);
    xhr.setRequestHeader("X-CSRF-Token", csrf);
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    xhr.upload.onprogress = (e) => {
      if (!e.lengthComputable) return;
      $("sent").value = e.loaded / e.total;
      $("sending-text").textContent = `Sending ${name}: ${Math.round(100 * e.loaded / e.total)}%`;
    };
    xhr.onload = () => {
      let reply = {};
      try { reply = JSON.parse(xhr.responseText); } catch (_) { /* not JSON: a proxy or a crash */ }
      if (xhr.status === 201 && reply.url) {
        $("sending-text").textContent = "Checked: it is a video. Queued for analysis…";
        window.location.assign(reply.url);
      } else {
        fail(reply.error || `The server refused the clip (HTTP ${xhr.status}).`);
      }
    };
    xhr.onerror = () => fail("The upload was interrupted (the connection to the gaitlab app was lost). Nothing was saved: check that the app is still running and try again.");
    $("sending").hidden = false;
    $("sending-text").textContent = `Sending ${name}…`;
    busy(true);
    xhr.send(blob);
  };

  // tabs
  document.querySelectorAll("[data-tab]").forEach((tab) => {
    tab.addEventListener("click", () => {
      document.querySelectorAll("[data-tab]").forEach((t) => {
        t.setAttribute("aria-selected", String(t === tab));
        $(t.dataset.tab).hidden = t !== tab;
      });
    });
  });

  // upload: file picker or drag and drop
  const drop = $("drop");
  $("file").addEventListener("change", (e) => { if (e.target.files[0]) send(e.target.files[0], e.target.files[0].name, "upload"); });
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    const file = e.dataTransfer.files[0];
    if (file) send(file, file.name, "upload");
  });

  // record: camera preview with the framing guide, a countdown, then MediaRecorder for the chosen time
  let stream = null;
  let recorder = null;
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const say = (text) => { const c = $("countdown"); c.hidden = !text; c.textContent = text; };

  $("camera-on").addEventListener("click", async () => {
    message.hidden = true;
    if (!window.isSecureContext || !navigator.mediaDevices) {
      return fail("The browser allows the camera only on this computer's own address (http://127.0.0.1:…) or over https. Record on the computer running gaitlab, or upload a clip instead.");
    }
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 1280 }, height: { ideal: 720 } }, audio: false });
    } catch (err) {
      return fail(`The camera could not be opened (${err.name}): allow camera access for this page, or upload a clip instead.`);
    }
    $("preview").srcObject = stream;
    $("camera-on").hidden = true;
    $("record-start").disabled = false;
  });

  $("record-start").addEventListener("click", async () => {
    const type = ["video/webm;codecs=vp9", "video/webm;codecs=vp8", "video/webm", "video/mp4"]
      .find((t) => MediaRecorder.isTypeSupported(t));
    if (!type) return fail("This browser cannot record video: upload a clip instead.");
    message.hidden = true;
    $("record-start").disabled = true;
    for (let s = Number($("countdown-s").value); s > 0; s--) { say(String(s)); await sleep(1000); }
    const chunks = [];
    recorder = new MediaRecorder(stream, { mimeType: type });
    recorder.ondataavailable = (e) => { if (e.data.size) chunks.push(e.data); };
    const stopped = new Promise((r) => { recorder.onstop = r; });
    recorder.start(1000);
    $("record-stop").hidden = false;
    const end = Date.now() + 1000 * Number($("duration-s").value);
    while (recorder.state === "recording" && Date.now() < end) {
      say(`● Recording: ${Math.ceil((end - Date.now()) / 1000)} s left`);
      await sleep(250);
    }
    if (recorder.state === "recording") recorder.stop();
    await stopped;
    say("");
    $("record-stop").hidden = true;
    const stamp = new Date().toISOString().slice(0, 19).replace(/[-:]/g, "").replace("T", "-");
    const ext = type.startsWith("video/mp4") ? "mp4" : "webm";
    send(new Blob(chunks, { type }), `recording-${stamp}.${ext}`, "camera");
  });
  $("record-stop").addEventListener("click", () => { if (recorder && recorder.state === "recording") recorder.stop(); });
}

// ---- progress page: live status over server-sent events --------------------------------------------
const job = $("job");
if (job && job.dataset.state !== "failed") {
  const events = new EventSource(job.dataset.events);
  events.onmessage = (e) => {
    const s = JSON.parse(e.data);
    const status = $("status");
    if (s.state === "done") {
      events.close();
      status.textContent = "Done: opening the result…";
      window.location.assign(s.url);
    } else if (s.state === "failed") {
      events.close();
      status.textContent = "The analysis failed.";
      $("error").textContent = s.error;
      $("error").hidden = false;
      $("after-fail").hidden = false;
      $("while-running").hidden = true;
      $("bar").value = 0;
    } else if (s.state === "gone") {
      events.close();
      status.textContent = "This analysis was cancelled or deleted.";
    } else if (s.state === "queued") {
      status.textContent = s.ahead ? `Waiting: ${s.ahead} analysis${s.ahead > 1 ? "es" : ""} ahead of this one…` : "Starting…";
    } else if (!s.frames_total || s.frames_done < s.frames_total) {
      if (s.frames_total) $("bar").value = s.frames_done / s.frames_total;
      status.textContent = s.frames_done
        ? `Finding the pose in each frame: ${s.frames_done} of ${s.frames_total} frames · ${s.fps} frames/s · about ${s.eta_s} s left`
        : "Starting the analysis…";
    } else {
      $("bar").removeAttribute("value"); // indeterminate: the last stage has no frame count
      status.textContent = "Measuring the steps and writing the report and video…";
    }
  };
}

// ---- session page: the report frame as tall as the report ------------------------------------------
const report = $("report");
if (report) {
  const fit = () => { report.style.height = `${report.contentDocument.documentElement.scrollHeight + 20}px`; };
  report.addEventListener("load", fit);
  window.addEventListener("resize", fit);
}
