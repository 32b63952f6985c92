// The homework page: a lesson's text and steps, and for each of its models a map of the test
// images, decoded in the browser by ONNX Runtime Web. Data comes only from the JSON element in
// index.html, parsed with JSON.parse; every string from it is shown with textContent.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
    "#7f7f7f", "#bcbd22", "#17becf"];
  const status = $("status");
  const api = { decodeMs: [], ready: false, marks: {} };
  const mark = (name) => { api.marks[name] = performance.now(); };
  window.homework = api;

  function fail(message) {
    status.textContent = message;
    status.className = "error";
    document.body.dataset.state = "error";
  }

  function bytesOf(b64) {
    if (typeof b64 !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) throw new Error("not base64");
    if (Uint8Array.fromBase64) return Uint8Array.fromBase64(b64);
    const text = atob(b64), out = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
    return out;
  }

  function floatsOf(b64, n) {
    const bytes = bytesOf(b64);
    if (bytes.length !== n * 4) throw new Error("an array has the wrong length");
    return new Float32Array(bytes.buffer, bytes.byteOffset, n);
  }

  // Text with *emphasis* and **strong** parts, built as elements: never parsed as HTML.
  function setText(element, text) {
    element.textContent = "";
    for (const part of String(text).split(/(\*\*[^*]+\*\*|\*[^*]+\*)/)) {
      if (/^\*\*[^*]+\*\*$/.test(part)) {
        element.appendChild(document.createElement("strong")).textContent = part.slice(2, -2);
      } else if (/^\*[^*]+\*$/.test(part)) {
        element.appendChild(document.createElement("em")).textContent = part.slice(1, -1);
      } else {
        element.appendChild(document.createTextNode(part));
      }
    }
  }

  function load() {
    const data = JSON.parse($("lesson-data").textContent);
    if (data.format !== 1 || !Array.isArray(data.models) || !Array.isArray(data.datasets)) {
      throw new Error("this bundle's data is not in a format this page reads");
    }
    const datasets = data.datasets.map((d) => {
      const [c, h, w] = d.image_shape.map(Number);
      return { name: String(d.name), classNames: d.class_names.map(String), labels: d.labels.map(Number),
        c, h, w, columns: Number(d.columns), sprite: bytesOf(d.sprite) };
    });
    const models = data.models.map((m) => {
      const ds = datasets[Number(m.dataset)], d = Number(m.latent_dim), n = ds.labels.length;
      if (!ds || !(d >= 2)) throw new Error("a model names no dataset or has no 2-D map");
      return { label: String(m.label), ds, d, n, onnx: bytesOf(m.onnx), codes: floatsOf(m.codes, n * d),
        coords: floatsOf(m.coords, n * 2), origin: m.origin.map(Number), axes: m.axes.map((a) => a.map(Number)),
        about: String(m.map_about), session: null };
    });
    return { lesson: data.lesson, models, datasets };
  }

  async function startRuntime() {
    if (typeof ort === "undefined" || !window.ORT_LOADER_MJS || !window.ORT_BINARY_GZIP_BASE64) {
      throw new Error("ONNX Runtime Web is missing from the bundle's ort folder; unzip the " +
        "whole bundle, or export the lesson again");
    }
    ort.env.wasm.numThreads = 1; // threads need cross-origin isolation, which file:// lacks
    ort.env.wasm.proxy = false;
    const loader = new Blob([window.ORT_LOADER_MJS], { type: "text/javascript" });
    ort.env.wasm.wasmPaths = { mjs: URL.createObjectURL(loader) };
    mark("script");
    const gz = new Blob([bytesOf(window.ORT_BINARY_GZIP_BASE64)]);
    const inflated = gz.stream().pipeThrough(new DecompressionStream("gzip"));
    ort.env.wasm.wasmBinary = new Uint8Array(await new Response(inflated).arrayBuffer());
    mark("inflated");
  }

  let runtime = null; // set at start: resolves once the WebAssembly binary is inflated

  // One session per model, created once; the first also starts the WebAssembly runtime.
  function sessionFor(m) {
    if (!m.session) {
      m.session = runtime.then(() => ort.InferenceSession.create(m.onnx, { executionProviders: ["wasm"] }));
      m.session.then(() => mark("session " + m.label), () => {}); // a failure is said by decode
    }
    return m.session;
  }

  // Decode codes (n x d, flat) with model m: pixel means in [0, 1], flat (n, C, H, W).
  async function decode(m, codes, n) {
    const session = await sessionFor(m), start = performance.now();
    const out = await session.run({ z: new ort.Tensor("float32", Float32Array.from(codes), [n, m.d]) });
    api.decodeMs.push(performance.now() - start);
    return out.x_hat.data;
  }

  function paint(canvas, pixels, c, h, w, offset = 0) {
    canvas.width = w; canvas.height = h;
    const ctx = canvas.getContext("2d"), image = ctx.createImageData(w, h), plane = h * w;
    for (let i = 0; i < plane; i++) {
      for (let k = 0; k < 3; k++) {
        const v = pixels[offset + (c === 3 ? k : 0) * plane + i];
        image.data[4 * i + k] = Math.round(Math.min(1, Math.max(0, v)) * 255);
      }
      image.data[4 * i + 3] = 255;
    }
    ctx.putImageData(image, 0, 0);
  }

  // Test image i of a dataset, from its sprite (pixels in [0, 1], flat (C, H, W)).
  function testImage(ds, i) {
    const { c, h, w, columns } = ds, out = new Float32Array(c * h * w);
    const row = Math.floor(i / columns), col = i % columns;
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let k = 0; k < c; k++) {
      const p = ((row * h + y) * columns * w + col * w + x) * c + k;
      out[k * h * w + y * w + x] = ds.pixels[p] / 255;
    }
    return out;
  }

  async function spritePixels(ds) {
    const bitmap = await createImageBitmap(new Blob([ds.sprite], { type: "image/png" }));
    const canvas = new OffscreenCanvas(bitmap.width, bitmap.height), ctx = canvas.getContext("2d");
    ctx.drawImage(bitmap, 0, 0);
    const rgba = ctx.getImageData(0, 0, bitmap.width, bitmap.height).data;
    const out = new Uint8Array(bitmap.width * bitmap.height * ds.c);
    for (let i = 0; i < bitmap.width * bitmap.height; i++) {
      for (let k = 0; k < ds.c; k++) out[i * ds.c + k] = rgba[4 * i + k];
    }
    ds.pixels = out;
  }

  // One decode at a time per target; while one runs only the newest request waits.
  function queue(render) {
    let busy = false, pending = null;
    return async function request(job) {
      pending = job;
      if (busy) return;
      busy = true;
      try {
        while (pending) { const next = pending; pending = null; await render(next); }
      } catch (e) {
        api.failed = true;
        fail("The decoder could not run in this browser: " + (e && e.message ? e.message : e));
      } finally { busy = false; }
    };
  }

  function main(state) {
    const { lesson, models } = state;
    sessionFor(models[0]); // compiles while the page is laid out
    setText($("title"), lesson.title);
    setText($("text"), lesson.text);
    setText($("try"), lesson.minutes ? "About " + String(lesson.minutes) + " minutes in class." : "");
    for (const step of lesson.steps) {
      const li = $("steps").appendChild(document.createElement("li"));
      li.appendChild(document.createTextNode(String(step.label) + " "));
      if (step.prompt) {
        const p = document.createElement("span");
        p.className = "prompt";
        p.textContent = String(step.prompt) + " ";
        li.appendChild(p);
      }
      const m = step.model === null ? null : models[Number(step.model)];
      if (m) {
        const b = li.appendChild(document.createElement("button"));
        b.type = "button";
        b.textContent = "explore " + m.label;
        b.addEventListener("click", () => { $("model").value = String(models.indexOf(m)); choose(); });
      } else {
        li.appendChild(document.createTextNode("(in the app, on its " + String(step.page) + " page)"));
      }
    }
    models.forEach((m, i) => {
      const o = $("model").appendChild(document.createElement("option"));
      o.value = String(i); o.textContent = m.label;
    });

    let m = models[0], view = null, z = null, picking = null;
    const map = $("map"), mctx = map.getContext("2d");
    const pick = { a: 0, b: 1 };

    function fit() {
      let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
      for (let i = 0; i < m.n; i++) {
        x0 = Math.min(x0, m.coords[2 * i]); x1 = Math.max(x1, m.coords[2 * i]);
        y0 = Math.min(y0, m.coords[2 * i + 1]); y1 = Math.max(y1, m.coords[2 * i + 1]);
      }
      const pad = 0.08 * Math.max(x1 - x0, y1 - y0, 1e-6);
      return { x0: x0 - pad, x1: x1 + pad, y0: y0 - pad, y1: y1 + pad };
    }
    const toPx = (x, y) => [(x - view.x0) / (view.x1 - view.x0) * map.width,
      (1 - (y - view.y0) / (view.y1 - view.y0)) * map.height];
    const fromPx = (px, py) => [view.x0 + px / map.width * (view.x1 - view.x0),
      view.y0 + (1 - py / map.height) * (view.y1 - view.y0)];
    const codeAt = (x, y) => m.origin.map((o, k) => o + x * m.axes[0][k] + y * m.axes[1][k]);
    const codeOf = (i) => Array.from(m.codes.subarray(i * m.d, (i + 1) * m.d));

    function drawMap() {
      mctx.fillStyle = "#fff"; mctx.fillRect(0, 0, map.width, map.height);
      for (let i = 0; i < m.n; i++) {
        const [px, py] = toPx(m.coords[2 * i], m.coords[2 * i + 1]);
        mctx.fillStyle = COLOURS[m.ds.labels[i] % COLOURS.length];
        mctx.fillRect(px - 1.5, py - 1.5, 3, 3);
      }
      for (const [key, name] of [["a", "A"], ["b", "B"]]) {
        const i = pick[key];
        const [px, py] = toPx(m.coords[2 * i], m.coords[2 * i + 1]);
        mctx.strokeStyle = "#000"; mctx.lineWidth = 2;
        mctx.beginPath(); mctx.arc(px, py, 7, 0, 2 * Math.PI); mctx.stroke();
        mctx.fillStyle = "#000"; mctx.font = "bold 14px sans-serif"; mctx.fillText(name, px + 8, py - 8);
      }
      if (api.point) {
        const [px, py] = toPx(api.point[0], api.point[1]);
        mctx.strokeStyle = "#000"; mctx.lineWidth = 2; mctx.beginPath();
        mctx.moveTo(px - 9, py); mctx.lineTo(px + 9, py); mctx.moveTo(px, py - 9); mctx.lineTo(px, py + 9);
        mctx.stroke();
      }
    }

    const decodePoint = queue(async (code) => {
      const pixels = await decode(m, code, 1);
      paint($("decoded"), pixels, m.ds.c, m.ds.h, m.ds.w);
      $("decoded").dataset.z = JSON.stringify(code);
      $("code").textContent = "z = (" + code.map((v) => v.toFixed(2)).join(", ") + ")";
    });
    const decodeBetween = queue(async ({ t, code }) => {
      const pixels = await decode(m, code, 1);
      paint($("between"), pixels, m.ds.c, m.ds.h, m.ds.w);
      $("between").dataset.z = JSON.stringify(code);
      $("caption-t").textContent = "t = " + t.toFixed(2);
    });
    const decodeSamples = queue(async ({ codes, n }) => {
      const pixels = await decode(m, codes, n), size = m.ds.c * m.ds.h * m.ds.w;
      $("samples").textContent = "";
      for (let i = 0; i < n; i++) {
        const canvas = $("samples").appendChild(document.createElement("canvas"));
        canvas.className = "pic";
        canvas.dataset.z = JSON.stringify(Array.from(codes.slice(i * m.d, (i + 1) * m.d)));
        paint(canvas, pixels, m.ds.c, m.ds.h, m.ds.w, i * size);
      }
    });

    function at(event) {
      const r = map.getBoundingClientRect();
      return fromPx((event.clientX - r.left) * map.width / r.width, (event.clientY - r.top) * map.height / r.height);
    }
    function nearest([x, y]) {
      let best = 0, dist = Infinity;
      for (let i = 0; i < m.n; i++) {
        const d = (m.coords[2 * i] - x) ** 2 + (m.coords[2 * i + 1] - y) ** 2;
        if (d < dist) { dist = d; best = i; }
      }
      return best;
    }
    function decodeAt(point) {
      api.point = point; drawMap();
      return decodePoint(codeAt(point[0], point[1]));
    }
    let dragging = false;
    map.addEventListener("pointerdown", (event) => {
      if (picking) {
        setPick(picking, nearest(at(event)));
        return;
      }
      dragging = true; map.setPointerCapture(event.pointerId);
      decodeAt(at(event));
    });
    map.addEventListener("pointermove", (event) => { if (dragging) decodeAt(at(event)); });
    map.addEventListener("pointerup", () => { dragging = false; });

    function setPick(key, i) {
      pick[key] = Math.max(0, Math.min(m.n - 1, Number.isFinite(i) ? i : 0));
      $("index-" + key).value = String(pick[key]);
      picking = null;
      for (const k of ["a", "b"]) $("pick-" + k).classList.remove("active");
      const label = m.ds.classNames[m.ds.labels[pick[key]]] ?? "";
      $("caption-" + key).textContent = key.toUpperCase() + ": #" + pick[key] + " " + label;
      paint($("thumb-" + key), testImage(m.ds, pick[key]), m.ds.c, m.ds.h, m.ds.w);
      drawMap(); between();
    }
    for (const key of ["a", "b"]) {
      $("pick-" + key).addEventListener("click", () => {
        picking = key; $("pick-" + key).classList.add("active");
      });
      $("index-" + key).addEventListener("change", () => setPick(key, Number($("index-" + key).value)));
    }
    function between() {
      const t = Number($("t").value), a = codeOf(pick.a), b = codeOf(pick.b);
      $("t-value").textContent = t.toFixed(2);
      return decodeBetween({ t, code: a.map((v, k) => (1 - t) * v + t * b[k]) });
    }
    $("t").addEventListener("input", between);

    function samples() {
      const temperature = Math.min(3, Math.max(0.1, Number($("temperature").value) || 1));
      const seed = Math.max(0, Math.floor(Number($("seed").value) || 0)), n = 8;
      let s = seed >>> 0; // mulberry32: a small seeded generator, so a seed is the same codes
      const uniform = () => {
        s = (s + 0x6d2b79f5) >>> 0; let t = s;
        t = Math.imul(t ^ (t >>> 15), t | 1); t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return (((t ^ (t >>> 14)) >>> 0) + 1) / 4294967297; // in (0, 1)
      };
      const codes = new Float32Array(n * m.d);
      for (let i = 0; i < codes.length; i++) { // Box-Muller: N(0, 1) from two uniforms
        codes[i] = temperature * Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
      }
      return decodeSamples({ codes, n });
    }
    $("draw").addEventListener("click", samples);

    async function choose() {
      m = models[Number($("model").value)] || models[0];
      view = fit(); api.point = null;
      setText($("map-about"), m.about);
      $("legend").textContent = "";
      m.ds.classNames.forEach((name, k) => {
        const span = $("legend").appendChild(document.createElement("span"));
        span.appendChild(document.createElement("i")).style.background = COLOURS[k % COLOURS.length];
        span.appendChild(document.createTextNode(name));
      });
      if (!m.ds.pixels) await spritePixels(m.ds);
      setPick("a", Math.min(pick.a, m.n - 1)); setPick("b", Math.min(pick.b, m.n - 1));
      if (!api.marks.map) {
        mark("map"); // the text, the map and the thumbnails are on screen: the first decode waits
        status.textContent = "The map is ready; the decoder is starting…";
      }
      await decodeAt([(view.x0 + view.x1) / 2, (view.y0 + view.y1) / 2]);
      await samples();
    }
    $("model").addEventListener("change", choose);
    api.decode = (i, codes, n) => decode(models[i], codes, n);
    api.decodeAt = decodeAt;
    return choose();
  }

  (async () => {
    let state;
    try {
      runtime = startRuntime(); // inflates the runtime while the data is read
      runtime.catch(() => {}); // its failure is reported below, once the data has been read
      state = load();
      mark("data");
    } catch (e) {
      fail("This bundle's data could not be read (" + e.message + "); export the lesson again.");
      return;
    }
    try {
      await main(state); // draws the page at once; its decodes wait for the runtime
      await runtime;
    } catch (e) {
      fail("The decoder could not start in this browser: " + (e && e.message ? e.message : e));
      return;
    }
    if (api.failed) return;
    api.ready = true;
    api.readyMs = performance.now();
    status.textContent = "Ready: every picture is decoded in this browser.";
    document.body.dataset.state = "ready";
  })();
})();
