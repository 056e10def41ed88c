/* memlens serve's pages: each fetches the dashboard's JSON API and draws it with memlens.js. */
"use strict";
(function () {
  const memlens = window.memlens;
  const byId = (id) => document.getElementById(id);
  const body = document.body;
  const REFRESH_MS = 5000;

  async function api(path, options) {
    const response = await fetch(path, Object.assign({credentials: "same-origin", headers: {"Content-Type": "application/json"}}, options || {}));
    const doc = await response.json();
    if (!response.ok) throw new Error(doc.detail ? String(doc.detail) : response.status + " " + response.statusText);
    return doc;
  }
  memlens.api = api;

  function status(text, error) {
    const s = byId("status");
    s.textContent = memlens.visible(text);
    s.className = error ? "error" : "note";
  }
  function ready(n) {
    body.dataset.loads = String(Number(body.dataset.loads || 0) + n);
  }
  const pidLink = (row, v) => memlens.el("a", {href: "/process/" + Number(row.pid), text: String(v)});

  async function topPage() {
    let table = null, bar = null;
    async function refresh() {
      try {
        const [top, system] = await Promise.all([api("/api/top"), api("/api/system")]);
        if (table) table.update(top.processes);
        else table = memlens.usageTable(byId("usage"), top.processes, pidLink);
        if (bar) bar.dispose();
        bar = memlens.whereBar(byId("where"), system);
        status("updated " + new Date(top.time * 1000).toLocaleTimeString());
        body.dataset.time = String(top.time);
        ready(1);
      } catch (e) {
        status(String(e.message || e), true);
      }
    }
    let tree = null;
    async function treemap() {
      const nodes = await api("/api/treemap");
      if (tree) tree.dispose();
      tree = memlens.treemap(byId("treemap"), nodes);
    }
    byId("treemap-refresh").addEventListener("click", treemap);
    await Promise.all([refresh(), treemap()]);
    body.dataset.ready = "1";
    setInterval(refresh, REFRESH_MS);
  }

  async function processPage() {
    const pid = Number(body.dataset.pid);
    const jobs = [
      api("/api/processes/" + pid + "/maps").then((maps) => {
        byId("title").textContent = "Process " + pid + ": " + memlens.visible(maps.command);
        memlens.mapsTable(byId("maps"), maps);
      }),
      api("/api/processes/" + pid + "/layout").then((doc) => {
        const svg = new DOMParser().parseFromString(doc.svg, "image/svg+xml").documentElement;
        for (const s of svg.querySelectorAll("script,foreignObject")) s.remove();
        byId("layout").append(document.importNode(svg, true));
      }),
      api("/api/processes/" + pid + "/shared").then((doc) => {
        const by = {};
        for (const o of doc.objects) (by[o.section] = by[o.section] || []).push(o);
        memlens.ipcTables(byId("shared"), by);
      }),
    ];
    const results = await Promise.allSettled(jobs);
    const failed = results.filter((r) => r.status === "rejected");
    if (failed.length) status(failed.map((r) => String(r.reason.message || r.reason)).join("; "), true);
    watchControls(pid);
    body.dataset.ready = "1";
  }

  function watchControls(pid) {
    const start = byId("watch-start"), stop = byId("watch-stop"), state = byId("watch-state");
    let current = null, timer = null, chart = null;
    async function follow() {
      try {
        const w = await api("/api/watches/" + current);
        state.textContent = w.state + " · " + w.samples.length + " samples" + (w.recording ? " · recording " + w.recording : "") + (w.error ? " · " + memlens.visible(w.error) : "");
        state.dataset.samples = String(w.samples.length);
        state.dataset.state = w.state;
        if (chart) chart.dispose();
        chart = memlens.seriesChart(byId("watch-chart"), {samples: w.samples, where: w.where, analysis: w.analysis, verdict: null});
        if (w.state === "ended") {
          clearInterval(timer);
          start.disabled = false;
          stop.disabled = true;
        }
      } catch (e) {
        status(String(e.message || e), true);
      }
    }
    start.addEventListener("click", async () => {
      try {
        const w = await api("/api/watches", {method: "POST", body: JSON.stringify({pid: pid, interval: Number(byId("interval").value)})});
        current = w.id;
        start.disabled = true;
        stop.disabled = false;
        timer = setInterval(follow, Math.max(500, w.interval * 1000));
        follow();
      } catch (e) {
        status(String(e.message || e), true);
      }
    });
    stop.addEventListener("click", async () => {
      await api("/api/watches/" + current, {method: "DELETE"});
      follow();
    });
  }

  async function recordingsPage() {
    const rec = body.dataset.recording;
    if (!rec) {
      const list = await api("/api/recordings");
      memlens.table(byId("recordings"), [
        {key: "id", title: "Id", kind: "count", link: true},
        {key: "started", title: "Started", kind: "text", get: (r) => new Date(r.started * 1000).toLocaleString()},
        {key: "targets", title: "Processes", kind: "count"},
        {key: "samples", title: "Samples", kind: "count"},
        {key: "verdicts", title: "Verdicts", kind: "text", get: (r) => (r.verdicts || []).map((v) => v.pid + ": " + v.verdict).join(", ")},
        {key: "command", title: "Command", kind: "text"},
      ], list, {rowKey: (r) => r.id, link: (row, v) => memlens.el("a", {href: "/recordings/" + Number(row.id), text: String(v)})});
    } else {
      const doc = await api("/api/recordings/" + Number(rec));
      memlens.recordingTable(byId("verdicts"), doc, pidLink);
      const holder = byId("series");
      doc.processes.forEach((p, i) => {
        holder.append(memlens.el("h3", {text: p.pid + " " + p.command}));
        if (p.analysis) holder.append(memlens.el("p", {text: p.analysis.verdict + ": " + p.analysis.evidence}));
        const div = memlens.el("div", {id: "series-" + i, class: "chart series"});
        holder.append(div);
        memlens.seriesChart(div, p);
      });
    }
    body.dataset.ready = "1";
  }

  memlens.unitSwitch(byId("units"));
  const pages = {top: topPage, process: processPage, recordings: recordingsPage};
  pages[body.dataset.page]().catch((e) => {
    status(String(e.message || e), true);
    body.dataset.ready = "1";
  });
})();
