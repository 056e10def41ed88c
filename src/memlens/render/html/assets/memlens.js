/* memlens's pages: draw the documents of memlens's JSON output (the report embeds one; the
 * dashboard fetches them from its API). Every name from a process is set as text (textContent,
 * or escaped for ECharts tooltips), never as HTML. Sizes arrive in bytes. */
"use strict";
(function () {
  const memlens = (window.memlens = window.memlens || {});
  memlens.charts = [];
  const UNITS = {
    human: (n) => human(n),
    kb: (n) => String(Math.round(n / 1024)),
    mib: (n) => (n / 1048576).toFixed(1),
    bytes: (n) => String(n),
  };
  memlens.units = "human";
  const tables = [];

  function human(n) {
    if (n === null || n === undefined) return "-";
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let v = Math.abs(n);
    let i = 0;
    while (v >= 1024 && i < units.length - 1) {
      v /= 1024;
      i++;
    }
    const sign = n < 0 ? "-" : "";
    return sign + (i === 0 ? String(v) : v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)) + " " + units[i];
  }
  memlens.human = human;

  function size(n) {
    return n === null || n === undefined ? "-" : UNITS[memlens.units](n);
  }

  function escapeHtml(text) {
    return String(text).replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"})[c]);
  }
  memlens.escapeHtml = escapeHtml;

  /* Control characters (a name such as "\x1b]0;pwn\x07") shown as \xNN, as the terminal
   * output does. */
  function visible(text) {
    return String(text).replace(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, (c) => {
      const code = c.charCodeAt(0).toString(16);
      return code.length <= 2 ? "\\x" + code.padStart(2, "0") : "\\u" + code.padStart(4, "0");
    });
  }
  memlens.visible = visible;

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "text") node.textContent = visible(v);
      else if (k === "class") node.className = v;
      else node.setAttribute(k, v);
    }
    for (const child of children) node.append(child);
    return node;
  }
  memlens.el = el;

  /* A table of rows with columns {key, title, kind: "size"|"count"|"text", get?}: sortable by
   * a click on a header, filtered by a text box (any text column containing the words),
   * sizes in the unit chosen. Re-drawn in place; returns an object with update(rows). */
  function table(container, columns, rows, options) {
    options = options || {};
    const state = {rows: rows, sort: options.sort || null, desc: true, filter: ""};
    container.textContent = "";
    const bar = el("div", {class: "tablebar"});
    const filter = el("input", {type: "search", placeholder: "filter", class: "filter", "aria-label": "filter"});
    filter.addEventListener("input", () => {
      state.filter = filter.value.toLowerCase();
      draw();
    });
    const count = el("span", {class: "count"});
    bar.append(filter, count);
    const tbl = el("table", {class: "data"});
    const thead = el("thead");
    const tbody = el("tbody");
    tbl.append(thead, tbody);
    container.append(bar, tbl);
    const get = (row, col) => (col.get ? col.get(row) : row[col.key]);
    const headRow = el("tr");
    for (const col of columns) {
      const th = el("th", {text: col.title, "data-key": col.key, class: col.kind === "text" ? "" : "num"});
      th.addEventListener("click", () => {
        if (state.sort === col.key) state.desc = !state.desc;
        else {
          state.sort = col.key;
          state.desc = col.kind !== "text";
        }
        draw();
      });
      headRow.append(th);
    }
    thead.append(headRow);
    function draw() {
      let shown = state.rows;
      if (state.filter) {
        const words = state.filter.split(/\s+/).filter(Boolean);
        shown = shown.filter((row) => {
          const text = columns.filter((c) => c.kind === "text").map((c) => String(get(row, c) ?? "")).join(" ").toLowerCase();
          return words.every((w) => text.includes(w));
        });
      }
      if (state.sort) {
        const col = columns.find((c) => c.key === state.sort);
        shown = shown.slice().sort((a, b) => {
          const x = get(a, col), y = get(b, col);
          if (x === null || x === undefined) return 1;
          if (y === null || y === undefined) return -1;
          const c = col.kind === "text" ? String(x).localeCompare(String(y)) : x - y;
          return state.desc ? -c : c;
        });
      }
      for (const th of headRow.children) {
        th.classList.toggle("sorted", th.dataset.key === state.sort);
        th.classList.toggle("desc", th.dataset.key === state.sort && state.desc);
      }
      tbody.textContent = "";
      for (const row of shown) {
        const tr = el("tr");
        if (options.rowKey) tr.dataset.key = String(options.rowKey(row));
        for (const col of columns) {
          const v = get(row, col);
          const td = el("td", {class: col.kind === "text" ? "" : "num"});
          if (col.kind === "size") {
            td.textContent = size(v);
            if (v !== null && v !== undefined) td.dataset.bytes = String(v);
          } else if (col.link && options.link) {
            td.append(options.link(row, v));
          } else {
            td.textContent = v === null || v === undefined ? "-" : visible(v);
            if (col.kind === "text") td.title = td.textContent;
          }
          tr.append(td);
        }
        tbody.append(tr);
      }
      count.textContent = shown.length + " of " + state.rows.length;
    }
    draw();
    const t = {draw: draw, update: (rows) => { state.rows = rows; draw(); }};
    tables.push(t);
    return t;
  }
  memlens.table = table;

  /* A unit switch redraws every table. */
  memlens.unitSwitch = function (select) {
    select.value = memlens.units;
    select.addEventListener("change", () => {
      memlens.units = select.value;
      for (const t of tables) t.draw();
    });
  };

  memlens.PROCESS_COLUMNS = [
    {key: "pid", title: "PID", kind: "count", link: true},
    {key: "user", title: "User", kind: "text"},
    {key: "vss", title: "VSS", kind: "size"},
    {key: "rss", title: "RSS", kind: "size"},
    {key: "pss", title: "PSS", kind: "size"},
    {key: "uss", title: "USS", kind: "size"},
    {key: "swap", title: "Swap", kind: "size"},
    {key: "swap_pss", title: "SwapPss", kind: "size"},
    {key: "command", title: "Command", kind: "text"},
  ];

  memlens.usageTable = function (container, processes, link) {
    const t = table(container, memlens.PROCESS_COLUMNS, processes, {sort: "pss", rowKey: (p) => p.pid, link: link});
    return t;
  };

  function chart(container) {
    const c = echarts.init(container, null, {renderer: "canvas"});
    memlens.charts.push(c);
    window.addEventListener("resize", () => c.resize());
    return c;
  }

  /* PSS by user -> program -> process -> mapping group; a click zooms into a node (the path
   * shown is kept in data-path for the reader and the tests). */
  memlens.treemap = function (container, tree) {
    const c = chart(container);
    c.setOption({
      tooltip: {
        formatter: (info) => {
          const path = (info.treePathInfo || []).slice(1).map((n) => escapeHtml(visible(n.name)));
          return path.join(" &rsaquo; ") + "<br>PSS " + human(info.value);
        },
      },
      series: [{
        type: "treemap",
        name: "PSS",
        data: tree,
        leafDepth: 2,
        roam: false,
        nodeClick: "zoomToNode",
        label: {formatter: (info) => visible(info.name)},
        upperLabel: {show: true, height: 20, formatter: (info) => visible(info.name)},
        levels: [
          {itemStyle: {borderWidth: 2, gapWidth: 2, borderColor: "#fff"}},
          {itemStyle: {borderWidth: 2, gapWidth: 1, borderColor: "#eee"}},
          {itemStyle: {gapWidth: 1}, colorSaturation: [0.35, 0.6]},
          {colorSaturation: [0.3, 0.5]},
        ],
        breadcrumb: {show: true},
      }],
    });
    container.dataset.path = "";
    c.on("click", (info) => {
      container.dataset.path = (info.treePathInfo || []).slice(1).map((n) => n.name).join("/");
    });
    return c;
  };

  /* Where the RAM went: one horizontal bar, one series per part, adding up to MemTotal. */
  memlens.whereBar = function (container, system) {
    const c = chart(container);
    const parts = system.parts.filter((p) => p.bytes > 0);
    c.setOption({
      tooltip: {trigger: "item", formatter: (i) => escapeHtml(i.seriesName) + ": " + human(i.value) + " (" + (100 * i.value / system.mem_total).toFixed(1) + "%)"},
      legend: {type: "scroll", bottom: 0},
      grid: {left: 10, right: 10, top: 10, bottom: 40, containLabel: true},
      xAxis: {type: "value", max: system.mem_total, axisLabel: {formatter: (v) => human(v)}},
      yAxis: {type: "category", data: ["MemTotal"]},
      series: parts.map((p) => ({name: p.name, type: "bar", stack: "ram", data: [p.bytes]})),
    });
    container.dataset.total = String(parts.reduce((s, p) => s + p.bytes, 0));
    return c;
  };

  memlens.mapsTable = function (container, maps) {
    const cols = [
      {key: "start", title: "Start", kind: "text", get: (m) => m.start.toString(16).padStart(12, "0")},
      {key: "size", title: "Size", kind: "size", get: (m) => m.end - m.start},
      {key: "perms", title: "Perms", kind: "text"},
      {key: "rss", title: "RSS", kind: "size"},
      {key: "pss", title: "PSS", kind: "size"},
      {key: "shared", title: "Shared", kind: "size", get: (m) => (m.shared_clean === null || m.shared_dirty === null ? null : m.shared_clean + m.shared_dirty)},
      {key: "swap", title: "Swap", kind: "size"},
      {key: "kind", title: "Kind", kind: "text"},
      {key: "name", title: "Mapping", kind: "text"},
    ];
    const t = table(container, cols, maps.mappings, {sort: "pss"});
    return t;
  };

  /* IPC: System V segments and POSIX/memfd/shared anonymous objects with their attachers. */
  memlens.ipcTables = function (container, ipc) {
    container.textContent = "";
    const sections = [["shm", "System V shared memory"], ["posix", "POSIX shared memory"], ["memfd", "memfd"], ["shared_anon", "Shared anonymous"]];
    for (const [key, title] of sections) {
      const items = ipc[key] || [];
      if (!items.length) continue;
      container.append(el("h3", {text: title + " (" + items.length + ")"}));
      const rows = items.map((o) => ({
        id: String(o.id ?? o.inode ?? ""),
        name: o.name ?? o.key ?? "",
        size: o.size ?? null,
        rss: o.rss ?? o.resident ?? null,
        attachers: (o.attachers || o.mappers || []).map((m) => m.pid + " " + (m.command || "")).join(", "),
      }));
      const d = el("div");
      container.append(d);
      table(d, [
        {key: "id", title: "Id", kind: "text"},
        {key: "name", title: "Name", kind: "text"},
        {key: "size", title: "Size", kind: "size"},
        {key: "rss", title: "Resident", kind: "size"},
        {key: "attachers", title: "Attached by", kind: "text"},
      ], rows, {sort: "size"});
    }
    if (!container.children.length) container.append(el("p", {text: "No shared memory objects."}));
  };

  function rate(bps) {
    return bps === null || bps === undefined ? "-" : human(Math.round(bps)) + "/s";
  }

  /* One process's series of a recording: RSS, PSS, USS over time, and where its memory was
   * (stacked areas of the where groups), the change points marked, verdict and slope. */
  memlens.seriesChart = function (container, proc) {
    const c = chart(container);
    const a = proc.analysis;
    const line = (key) => proc.samples.map((s) => [s.time * 1000, s[key]]);
    const marks = a && a.change_points.length ? {symbol: "none", label: {formatter: "change"}, lineStyle: {color: "#c00", type: "dashed"}, data: a.change_points.map((t) => ({xAxis: t * 1000}))} : undefined;
    const metric = a ? a.metric : "pss";
    const series = ["rss", "pss", "uss"].map((key) => ({
      name: key.toUpperCase(), type: "line", showSymbol: false, data: line(key), markLine: key === metric ? marks : undefined,
    }));
    // Where: the 8 largest groups (by their largest PSS), stacked under the lines.
    const largest = new Map();
    for (const w of proc.where) for (const g of w.groups) largest.set(g.name, Math.max(largest.get(g.name) || 0, g.pss));
    const top = [...largest.entries()].sort((x, y) => y[1] - x[1]).slice(0, 8).map((e) => e[0]);
    for (const name of top) {
      series.push({
        name: "where: " + visible(name), type: "line", stack: "where", areaStyle: {opacity: 0.25}, showSymbol: false, lineStyle: {width: 0},
        data: proc.where.map((w) => [w.time * 1000, (w.groups.find((g) => g.name === name) || {pss: 0}).pss]),
      });
    }
    const title = (a ? a.verdict : proc.verdict || "no verdict") + (a ? " · slope " + rate(a.slope_bytes_per_s) : "");
    c.setOption({
      title: {text: title, textStyle: {fontSize: 13}},
      tooltip: {trigger: "axis", formatter: (items) => items.map((i) => escapeHtml(i.seriesName) + ": " + human(i.value[1])).join("<br>")},
      legend: {type: "scroll", top: 22},
      grid: {left: 10, right: 20, top: 60, bottom: 10, containLabel: true},
      xAxis: {type: "time"},
      yAxis: {type: "value", axisLabel: {formatter: (v) => human(v)}},
      series: series,
    });
    container.dataset.verdict = a ? a.verdict : proc.verdict || "";
    return c;
  };

  memlens.diffTable = function (container, diff) {
    const rows = diff.processes.map((c) => ({
      pid: (c.b || c.a).pid,
      command: (c.b || c.a).command,
      change: c.change,
      before: c.a ? c.a.pss ?? c.a.rss : null,
      after: c.b ? c.b.pss ?? c.b.rss : null,
      delta: c.delta.pss ?? c.delta.rss ?? null,
    }));
    const t = table(container, [
      {key: "pid", title: "PID", kind: "count"},
      {key: "change", title: "Change", kind: "text"},
      {key: "before", title: "Before", kind: "size"},
      {key: "after", title: "After", kind: "size"},
      {key: "delta", title: "Delta", kind: "size"},
      {key: "command", title: "Command", kind: "text"},
    ], rows, {sort: "delta"});
    return t;
  };

  memlens.recordingTable = function (container, rec, link) {
    const rows = rec.processes.map((p) => ({
      pid: p.pid, command: p.command, verdict: p.analysis ? p.analysis.verdict : p.verdict,
      slope: p.analysis ? p.analysis.slope_bytes_per_s : null,
      first: p.analysis ? p.analysis.first : null, last: p.analysis ? p.analysis.last : null,
      samples: p.samples.length,
    }));
    const t = table(container, [
      {key: "pid", title: "PID", kind: "count"},
      {key: "verdict", title: "Verdict", kind: "text"},
      {key: "slope", title: "Slope (B/s)", kind: "count", get: (r) => (r.slope === null ? null : Math.round(r.slope))},
      {key: "first", title: "First", kind: "size"},
      {key: "last", title: "Last", kind: "size"},
      {key: "samples", title: "Samples", kind: "count"},
      {key: "command", title: "Command", kind: "text"},
    ], rows, {rowKey: (r) => r.pid, link: link});
    return t;
  };
})();
