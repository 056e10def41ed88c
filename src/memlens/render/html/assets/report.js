/* The report page: unpacks the document embedded in it (id "memlens-data": JSON, gzip,
 * base64) and draws it. A process's picture and maps table are drawn when its section is
 * opened: a report of many large address spaces opens quickly. */
"use strict";
(async function () {
  const memlens = window.memlens;
  const byId = (id) => document.getElementById(id);
  async function unpack(text) {
    const bytes = Uint8Array.from(atob(text.trim()), (c) => c.charCodeAt(0));
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    return JSON.parse(await new Response(stream).text());
  }
  const data = await unpack(byId("memlens-data").textContent);
  memlens.data = data;
  memlens.unitSwitch(byId("units"));
  if (data.top) {
    memlens.usageTable(byId("usage"), data.top.processes, (row, v) =>
      memlens.el("a", {href: "#process-" + row.pid, text: String(v)}));
  }
  if (data.treemap && data.treemap.length) memlens.treemap(byId("treemap"), data.treemap);
  if (data.system) memlens.whereBar(byId("where"), data.system);
  const processes = new Map((data.processes || []).map((p) => [String(p.pid), p]));
  function details(box) {
    const p = processes.get(box.dataset.pid);
    if (!p || box.dataset.drawn) return;
    box.dataset.drawn = "1";
    const layout = byId("layout-" + p.pid);
    if (layout && p.svg) {
      const svg = new DOMParser().parseFromString(p.svg, "image/svg+xml").documentElement;
      for (const s of svg.querySelectorAll("script,foreignObject")) s.remove();
      layout.append(document.importNode(svg, true));
    }
    const maps = byId("maps-" + p.pid);
    if (maps && p.maps) memlens.mapsTable(maps, p.maps);
  }
  for (const box of document.querySelectorAll("details.process")) {
    if (box.open) details(box);
    box.addEventListener("toggle", () => box.open && details(box));
  }
  if (location.hash.startsWith("#process-")) {
    const box = document.querySelector(location.hash + " details");
    if (box) box.open = true;
  }
  window.addEventListener("hashchange", () => {
    const box = location.hash.startsWith("#process-") && document.querySelector(location.hash + " details");
    if (box) box.open = true;
  });
  if (data.ipc) memlens.ipcTables(byId("ipc"), data.ipc);
  if (data.recording) {
    memlens.recordingTable(byId("verdicts"), data.recording);
    data.recording.processes.forEach((p, i) => memlens.seriesChart(byId("series-" + i), p));
  }
  if (data.diff) memlens.diffTable(byId("diff"), data.diff);
  document.body.dataset.ready = "1";
})().catch((e) => {
  document.body.dataset.error = String(e);
  throw e;
});
