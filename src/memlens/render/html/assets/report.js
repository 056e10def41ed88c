/* The report page: draws the document embedded in it (id "memlens-data"). */
"use strict";
(function () {
  const data = JSON.parse(document.getElementById("memlens-data").textContent);
  const memlens = window.memlens;
  const byId = (id) => document.getElementById(id);
  memlens.unitSwitch(byId("units"));
  if (data.top) {
    memlens.usageTable(byId("usage"), data.top.processes, (row, v) => {
      const a = memlens.el("a", {href: "#process-" + row.pid, text: String(v)});
      return a;
    });
  }
  if (data.treemap && data.treemap.length) memlens.treemap(byId("treemap"), data.treemap);
  if (data.system) memlens.whereBar(byId("where"), data.system);
  for (const p of data.processes || []) {
    const maps = byId("maps-" + p.pid);
    if (maps && p.maps) memlens.mapsTable(maps, p.maps);
  }
  if (data.ipc) memlens.ipcTables(byId("ipc"), data.ipc);
  if (data.recording) {
    memlens.recordingTable(byId("verdicts"), data.recording);
    data.recording.processes.forEach((p, i) => memlens.seriesChart(byId("series-" + i), p));
  }
  if (data.diff) memlens.diffTable(byId("diff"), data.diff);
  document.body.dataset.ready = "1";
})();
