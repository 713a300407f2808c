// The tagging page: send a dropped or chosen file to POST /v1/tag, show the upload's progress, then draw
// the taggram (tags x time) as a heatmap and the top tags as bars. Plain JavaScript and canvas: the page
// loads nothing from anywhere but this server. document.body.dataset.state says where it is:
// idle, uploading, tagging, done or error (the browser test waits on it).
"use strict";

const $ = (id) => document.getElementById(id);
const ROW = 14; // px per tag row of the taggram
const LABELS = 150; // px for the tag names
const AXIS = 28; // px for the time axis under the taggram
// Viridis at five stops, interpolated: dark (0) to yellow (1).
const STOPS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
let maxUploadBytes = Infinity; // the server's --max_upload_mb, from GET /v1/model

function setState(state, text) {
  document.body.dataset.state = state;
  $("status").hidden = !(state === "uploading" || state === "tagging");
  $("status-text").textContent = text || "";
}

function showError(message) {
  $("error").textContent = message;
  $("error").hidden = false;
  setState("error");
}

function colour(value) {
  const x = Math.min(1, Math.max(0, value)) * (STOPS.length - 1);
  const i = Math.min(STOPS.length - 2, Math.floor(x));
  const f = x - i;
  const rgb = STOPS[i].map((c, k) => Math.round(c + f * (STOPS[i + 1][k] - c)));
  return `rgb(${rgb[0]},${rgb[1]},${rgb[2]})`;
}

function sizeCanvas(canvas, width, height) {
  const scale = window.devicePixelRatio || 1;
  canvas.width = Math.round(width * scale);
  canvas.height = Math.round(height * scale);
  canvas.style.width = `${width}px`;
  canvas.style.height = `${height}px`;
  const ctx = canvas.getContext("2d");
  ctx.setTransform(scale, 0, 0, scale, 0, 0);
  ctx.clearRect(0, 0, width, height);
  ctx.font = "11px system-ui, sans-serif";
  return ctx;
}

// Rows: every tag, most probable (by the track's mean) on top; columns: the windows, at their start times.
function drawTaggram(result) {
  const canvas = $("taggram");
  const order = result.tags.map((_, i) => i).sort((a, b) => result.mean[b] - result.mean[a]);
  const width = Math.max(600, Math.min(900, document.body.clientWidth - 20));
  const plot = width - LABELS - 10;
  const ctx = sizeCanvas(canvas, width, order.length * ROW + AXIS);
  const windows = result.taggram.length;
  const cell = plot / windows;
  order.forEach((tag, row) => {
    ctx.fillStyle = "#222";
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    ctx.fillText(result.tags[tag], LABELS - 6, row * ROW + ROW / 2);
    result.taggram.forEach((scores, w) => {
      ctx.fillStyle = colour(scores[tag]);
      ctx.fillRect(LABELS + w * cell, row * ROW, Math.ceil(cell), ROW);
    });
  });
  const bottom = order.length * ROW;
  ctx.fillStyle = "#222";
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  const step = Math.max(1, Math.ceil(windows / 10));
  for (let w = 0; w < windows; w += step) {
    ctx.fillText(`${result.window_starts_s[w].toFixed(0)} s`, LABELS + (w + 0.5) * cell, bottom + 4);
  }
  ctx.textAlign = "left";
  ctx.fillText(`window start (each ${result.window_seconds} s)`, 4, bottom + 14);
  drawLegend(ctx, width - 130, bottom + 16);
  canvas.dataset.drawn = "true";
}

// The colour scale: probability 0 to 1, 100 px wide, at (x, y).
function drawLegend(ctx, x, y) {
  for (let i = 0; i < 100; i += 1) {
    ctx.fillStyle = colour(i / 99);
    ctx.fillRect(x + i, y, 1, 8);
  }
  ctx.fillStyle = "#222";
  ctx.textBaseline = "middle";
  ctx.textAlign = "right";
  ctx.fillText("0", x - 3, y + 4);
  ctx.textAlign = "left";
  ctx.fillText("1", x + 103, y + 4);
}

function drawBars(result) {
  const canvas = $("bars");
  const yes = result.decisions ? result.decisions.yes : null;
  const width = Math.max(600, Math.min(900, document.body.clientWidth - 20));
  const ctx = sizeCanvas(canvas, width, result.top.length * 22 + 8);
  const plot = width - LABELS - 70;
  result.top.forEach(({ tag, probability }, row) => {
    const y = 4 + row * 22;
    ctx.fillStyle = "#222";
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    ctx.fillText(tag, LABELS - 6, y + 9);
    ctx.fillStyle = yes && yes[tag] ? "#2a9d4a" : "#4455cc";
    ctx.fillRect(LABELS, y, Math.max(1, probability * plot), 18);
    ctx.fillStyle = "#222";
    ctx.textAlign = "left";
    ctx.fillText(probability.toFixed(3), LABELS + probability * plot + 6, y + 9);
  });
  canvas.dataset.drawn = "true";
}

function showResult(result) {
  const name = result.file.name || "upload";
  const count = result.taggram.length;
  $("track").textContent = `${name}: ${result.duration_s.toFixed(1)} s, ${count} window(s), ${result.aggregate} over windows`;
  $("result").hidden = false;
  drawTaggram(result);
  drawBars(result);
  if (result.decisions) {
    const yes = Object.keys(result.decisions.yes).filter((tag) => result.decisions.yes[tag]);
    $("decisions").textContent = `Tags over their thresholds (${result.decisions.rule}): ${yes.join(", ") || "none"}`;
    $("decisions").hidden = false;
  } else {
    $("decisions").hidden = true;
  }
  setState("done");
}

function upload(file) {
  $("error").hidden = true;
  $("result").hidden = true;
  if (file.size > maxUploadBytes) {
    // Refused here: a browser sends the whole body before it reads the server's 413.
    const mb = (bytes) => (bytes / 2 ** 20).toFixed(1);
    showError(`${file.name} is ${mb(file.size)} MB, over the ${mb(maxUploadBytes)} MB this server takes`);
    return;
  }
  const progress = $("progress");
  progress.value = 0;
  setState("uploading", `uploading ${file.name}`);
  const form = new FormData();
  form.append("file", file, file.name);
  const request = new XMLHttpRequest();
  request.open("POST", "/v1/tag");
  request.responseType = "json";
  request.upload.onprogress = (event) => {
    if (event.lengthComputable) {
      progress.value = (100 * event.loaded) / event.total;
    }
  };
  request.upload.onload = () => {
    progress.removeAttribute("value"); // indeterminate while the server decodes and tags
    setState("tagging", `tagging ${file.name}`);
  };
  request.onload = () => {
    const body = request.response;
    if (request.status === 200 && body) {
      showResult(body);
    } else {
      showError((body && body.error) || `the server answered ${request.status}`);
    }
  };
  request.onerror = () => showError("the server could not be reached");
  request.send(form);
}

function describeModel() {
  fetch("/v1/model")
    .then((reply) => reply.json())
    .then((model) => {
      maxUploadBytes = model.limits.max_upload_mb * 2 ** 20;
      const thresholds = model.thresholds_present ? "with thresholds" : "no thresholds";
      $("model").textContent = `${model.name} (version ${model.version}), ${model.backend}, ` +
        `${model.tags.length} tags, ${model.input_kind} input, ${thresholds}`;
    })
    .catch(() => { $("model").textContent = "the model's description could not be loaded"; });
}

function setUp() {
  const drop = $("drop");
  const input = $("file");
  input.addEventListener("change", () => input.files.length && upload(input.files[0]));
  drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    if (event.dataTransfer.files.length) {
      upload(event.dataTransfer.files[0]);
    }
  });
  describeModel();
  setState("idle");
}

document.addEventListener("DOMContentLoaded", setUp);
