/* Co-author networks drawn as SVG with a small force layout (no library, works offline).
 *
 * A container <div class="graph"> gets its data either from a <script type="application/json"> named
 * by data-graph (researcher pages) or from the network API at data-src (the network page). People can
 * pan (drag the background), zoom (wheel, pinch-free buttons), drag a person, and click a person:
 * on the network page that selects them and lists their co-authors beside the drawing; on a
 * researcher page it opens the person's profile.
 */
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  var MAX_NODES = 300;     // larger networks show the best-connected researchers
  var TICKS = 320;

  function el(name, attrs, parent) {
    var node = document.createElementNS(SVG, name);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (parent) { parent.appendChild(node); }
    return node;
  }

  function rng(seed) {  // deterministic start positions: the same network is drawn the same way
    return function () { seed = (seed * 1664525 + 1013904223) % 4294967296; return seed / 4294967296; };
  }

  function prepare(raw) {
    var nodes = (raw.nodes || []).filter(function (n) { return !n.type || n.type === "researcher"; });
    var truncated = false;
    if (nodes.length > MAX_NODES) {
      nodes = nodes.slice().sort(function (a, b) {
        return (b.centrality || 0) - (a.centrality || 0) || (b.degree || 0) - (a.degree || 0);
      }).slice(0, MAX_NODES);
      truncated = true;
    }
    var byId = {};
    nodes.forEach(function (n) { byId[n.id] = n; n.neighbours = []; });
    var links = (raw.links || []).filter(function (l) {
      return (!l.type || l.type === "coauthor") && byId[l.source] && byId[l.target];
    }).map(function (l) {
      var link = { source: byId[l.source], target: byId[l.target], weight: l.weight || 1 };
      link.source.neighbours.push({ node: link.target, weight: link.weight });
      link.target.neighbours.push({ node: link.source, weight: link.weight });
      return link;
    });
    return { nodes: nodes, links: links, truncated: truncated };
  }

  function layout(graph, width, height, done) {
    var nodes = graph.nodes, links = graph.links, n = nodes.length;
    var random = rng(n * 7919 + links.length);
    var radius = Math.sqrt(n) * 22;
    nodes.forEach(function (node, i) {
      var angle = i * 2.399963, r = radius * Math.sqrt((i + 0.5) / n);  // a sunflower: evenly spread
      node.x = node.center ? 0 : r * Math.cos(angle) + random() - 0.5;
      node.y = node.center ? 0 : r * Math.sin(angle) + random() - 0.5;
      node.vx = 0; node.vy = 0;
    });
    var tick = 0;
    var repulsion = 5000, spring = 0.05, gravity = 0.01;
    function step() {
      var alpha = 1 - tick / TICKS;
      for (var i = 0; i < n; i++) {
        var a = nodes[i];
        for (var j = i + 1; j < n; j++) {
          var b = nodes[j];
          var dx = a.x - b.x, dy = a.y - b.y;
          var d2 = dx * dx + dy * dy + 0.01;
          if (d2 > 640000) { continue; }
          var f = repulsion * alpha / d2;
          var d = Math.sqrt(d2);
          dx = dx / d * f; dy = dy / d * f;
          a.vx += dx; a.vy += dy; b.vx -= dx; b.vy -= dy;
        }
      }
      links.forEach(function (l) {
        var dx = l.target.x - l.source.x, dy = l.target.y - l.source.y;
        var d = Math.sqrt(dx * dx + dy * dy) || 1;
        var want = 110 / Math.min(1.8, Math.sqrt(l.weight));
        var f = (d - want) * spring * alpha;
        dx = dx / d * f; dy = dy / d * f;
        l.source.vx += dx; l.source.vy += dy; l.target.vx -= dx; l.target.vy -= dy;
      });
      nodes.forEach(function (node) {
        node.vx -= node.x * gravity * alpha;
        node.vy -= node.y * gravity * alpha;
        if (node.center || node.fixed) { node.vx = node.vy = 0; return; }
        node.vx *= 0.6; node.vy *= 0.6;
        var speed = Math.sqrt(node.vx * node.vx + node.vy * node.vy);
        if (speed > 30) { node.vx *= 30 / speed; node.vy *= 30 / speed; }
        node.x += node.vx; node.y += node.vy;
      });
      tick++;
    }
    var perFrame = n > 150 ? 8 : 30;
    (function frame() {
      for (var k = 0; k < perFrame && tick < TICKS; k++) { step(); }
      done(tick >= TICKS);
      if (tick < TICKS) { window.requestAnimationFrame(frame); }
    })();
  }

  function draw(container, raw, options) {
    var graph = prepare(raw);
    container.innerHTML = "";
    if (!graph.nodes.length) {
      var p = document.createElement("p");
      p.className = "graph-status";
      p.textContent = container.dataset.empty || "";
      container.appendChild(p);
      container.dataset.state = "ready";
      return graph;
    }
    var width = container.clientWidth || 600, height = container.clientHeight || 400;
    var svg = el("svg", { role: "img", "aria-label": container.dataset.label || "", viewBox: "0 0 " + width + " " + height }, container);
    var linkLayer = el("g", {}, svg), nodeLayer = el("g", {}, svg);
    var many = graph.nodes.length > 40;
    var labelled = graph.nodes.slice().sort(function (a, b) { return b.neighbours.length - a.neighbours.length; })
      .slice(0, many ? 25 : graph.nodes.length);
    labelled.forEach(function (n) { n.showLabel = true; });
    graph.links.forEach(function (l) {
      l.line = el("line", { "class": "link", "stroke-width": Math.min(6, 0.8 + l.weight * 0.9) }, linkLayer);
    });
    graph.nodes.forEach(function (node) {
      var r = node.center ? 14 : Math.min(16, 4 + Math.sqrt(node.studies || 1) * 2.4);
      node.r = r;
      node.g = el("g", { "class": "node " + (node.center ? "center" : node.member ? "member" : "other") }, nodeLayer);
      node.circle = el("circle", { r: r }, node.g);
      var title = el("title", {}, node.g);
      title.textContent = node.label;
      if (node.showLabel) {
        node.text = el("text", { x: r + 3, y: 4 }, node.g);
        node.text.textContent = node.label;
      }
      node.g.dataset.id = node.id;
    });

    var t = { x: width / 2, y: height / 2, k: 1 };
    var touched = false;  // once the person pans or zooms, the layout stops re-fitting the view
    // Zooming changes the distances, not the size of the dots and names, so names stay readable.
    function sx(node) { return node.x * t.k + t.x; }
    function sy(node) { return node.y * t.k + t.y; }
    function render() {
      graph.links.forEach(function (l) {
        l.line.setAttribute("x1", sx(l.source)); l.line.setAttribute("y1", sy(l.source));
        l.line.setAttribute("x2", sx(l.target)); l.line.setAttribute("y2", sy(l.target));
      });
      graph.nodes.forEach(function (node) { node.g.setAttribute("transform", "translate(" + sx(node) + "," + sy(node) + ")"); });
    }
    var apply = render;
    function fit() {
      var minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
      graph.nodes.forEach(function (n) {
        minX = Math.min(minX, n.x); maxX = Math.max(maxX, n.x);
        minY = Math.min(minY, n.y); maxY = Math.max(maxY, n.y);
      });
      var padX = 40 + 110, padY = 40;  // room for the dots and the names to the right
      var w = Math.max(1, maxX - minX), h = Math.max(1, maxY - minY);
      t.k = Math.max(0.05, Math.min(3, Math.min((width - padX - 30) / w, (height - 2 * padY) / h)));
      t.x = (width - 110) / 2 - (minX + maxX) / 2 * t.k;
      t.y = height / 2 - (minY + maxY) / 2 * t.k;
      apply();
    }
    function zoom(factor, cx, cy) {
      cx = cx === undefined ? width / 2 : cx; cy = cy === undefined ? height / 2 : cy;
      touched = true;
      var k = Math.max(0.02, Math.min(10, t.k * factor));
      t.x = cx - (cx - t.x) * (k / t.k); t.y = cy - (cy - t.y) * (k / t.k); t.k = k;
      apply();
    }
    function point(event) {  // pointer position in the SVG's own units
      var box = svg.getBoundingClientRect();
      return { x: (event.clientX - box.left) * width / box.width, y: (event.clientY - box.top) * height / box.height };
    }

    // Pan the background, drag a person, click a person.
    var drag = null;
    svg.addEventListener("pointerdown", function (event) {
      var g = event.target.closest ? event.target.closest(".node") : null;
      var p = point(event);
      var node = g ? graph.nodes.filter(function (n) { return n.id === g.dataset.id; })[0] : null;
      drag = { node: node, start: p, last: p, moved: false };
      svg.setPointerCapture(event.pointerId);
      svg.classList.add("dragging");
    });
    svg.addEventListener("pointermove", function (event) {
      if (!drag) { return; }
      var p = point(event);
      if (Math.abs(p.x - drag.start.x) + Math.abs(p.y - drag.start.y) > 4) { drag.moved = true; }
      if (drag.node) {
        drag.node.x += (p.x - drag.last.x) / t.k; drag.node.y += (p.y - drag.last.y) / t.k;
        drag.node.fixed = true;
        render();
      } else {
        touched = true;
        t.x += p.x - drag.last.x; t.y += p.y - drag.last.y;
        apply();
      }
      drag.last = p;
    });
    function end() {
      if (drag && drag.node && !drag.moved) { options.onSelect(drag.node); }
      else if (drag && !drag.node && !drag.moved) { options.onSelect(null); }
      drag = null;
      svg.classList.remove("dragging");
    }
    svg.addEventListener("pointerup", end);
    svg.addEventListener("pointercancel", function () { drag = null; svg.classList.remove("dragging"); });
    svg.addEventListener("wheel", function (event) {
      event.preventDefault();
      var p = point(event);
      zoom(event.deltaY < 0 ? 1.15 : 1 / 1.15, p.x, p.y);
    }, { passive: false });

    var controls = document.createElement("div");
    controls.className = "graph-controls";
    [["+", container.dataset.zoomIn || (document.documentElement.lang === "en" ? "Zoom in" : "Zoom inn"), function () { zoom(1.3); }],
     ["−", container.dataset.zoomOut || (document.documentElement.lang === "en" ? "Zoom out" : "Zoom ut"), function () { zoom(1 / 1.3); }],
     ["⤢", container.dataset.fit || (document.documentElement.lang === "en" ? "Fit to view" : "Vis alt"), function () { fit(); touched = false; }]].forEach(function (c) {
      var b = document.createElement("button");
      b.type = "button";
      b.textContent = c[0];
      b.setAttribute("aria-label", c[1]);
      b.title = c[1];
      b.addEventListener("click", c[2]);
      controls.appendChild(b);
    });
    container.appendChild(controls);

    var legend = document.createElement("div");
    legend.className = "graph-legend";
    legend.setAttribute("aria-hidden", "true");
    var en = document.documentElement.lang === "en";
    legend.innerHTML = (graph.nodes.some(function (n) { return n.center; }) ? '<span><span class="dot center"></span>' + (en ? "This researcher" : "Denne forskeren") + "</span>" : "") +
      '<span><span class="dot member"></span>' + (en ? "Network member" : "Medlem av nettverket") + "</span>" +
      '<span><span class="dot other"></span>' + (en ? "Other researcher" : "Annen forsker") + "</span>";
    container.appendChild(legend);

    graph.select = function (node) {
      container.classList.toggle("has-selection", !!node);
      graph.nodes.forEach(function (n) { n.g.classList.remove("is-selected", "is-near"); });
      graph.links.forEach(function (l) { l.line.classList.remove("is-near"); });
      if (!node) { return; }
      node.g.classList.add("is-selected");
      node.neighbours.forEach(function (nb) { nb.node.g.classList.add("is-near"); });
      graph.links.forEach(function (l) { if (l.source === node || l.target === node) { l.line.classList.add("is-near"); } });
    };

    apply();
    layout(graph, width, height, function (finished) {
      if (touched) { render(); } else { fit(); }
      if (finished) { container.dataset.state = "ready"; }
    });
    return graph;
  }

  function profileUrl(container, node) {
    return container.dataset.researcherUrl.replace("/0/", "/" + node.object_id + "/");
  }

  function details(container, graph, node) {
    var panel = document.getElementById(container.dataset.details);
    if (!panel) { return; }
    panel.innerHTML = "";
    if (!node) { return; }
    var h = document.createElement("h2");
    h.textContent = node.label;
    panel.appendChild(h);
    var p = document.createElement("p");
    p.textContent = (node.studies || 0) + " " + panel.dataset.studies + " · " + node.neighbours.length + " " + panel.dataset.coauthors +
      (node.member ? " · " + panel.dataset.member : "");
    panel.appendChild(p);
    var a = document.createElement("a");
    a.href = profileUrl(container, node);
    a.textContent = panel.dataset.profile;
    panel.appendChild(a);
    var ul = document.createElement("ul");
    ul.className = "plain-list small";
    node.neighbours.slice().sort(function (x, y) { return y.weight - x.weight; }).slice(0, 12).forEach(function (nb) {
      var li = document.createElement("li");
      var link = document.createElement("a");
      link.href = profileUrl(container, nb.node);
      link.textContent = nb.node.label;
      li.appendChild(link);
      li.appendChild(document.createTextNode(" (" + nb.weight + ")"));
      ul.appendChild(li);
    });
    panel.appendChild(ul);
  }

  function list(container, graph) {
    var ol = document.getElementById(container.dataset.list);
    if (!ol) { return; }
    ol.innerHTML = "";
    graph.nodes.slice().sort(function (a, b) { return b.neighbours.length - a.neighbours.length || a.label.localeCompare(b.label); })
      .slice(0, 40).forEach(function (node) {
        var li = document.createElement("li");
        var b = document.createElement("button");
        b.type = "button";
        b.textContent = node.label;
        b.addEventListener("click", function () { graph.select(node); details(container, graph, node); });
        li.appendChild(b);
        li.appendChild(document.createTextNode(" (" + node.neighbours.length + ")"));
        ol.appendChild(li);
      });
  }

  function start(container) {
    var graph;
    var onSelect = function (node) {
      if (container.dataset.details) {
        graph.select(node);
        details(container, graph, node);
      } else if (node && !node.center) {
        window.location.href = profileUrl(container, node);
      }
    };
    if (container.dataset.graph) {
      var source = document.getElementById(container.dataset.graph);
      graph = draw(container, JSON.parse(source.textContent), { onSelect: onSelect });
      return;
    }
    container.dataset.state = "loading";
    fetch(container.dataset.src, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(function (data) {
        graph = draw(container, data, { onSelect: onSelect });
        list(container, graph);
        var meta = data.meta || {};
        var summary = container.dataset.summaryTemplate;
        if (summary && meta.researchers !== undefined) {
          var cap = document.createElement("p");
          cap.className = "muted small network-summary";
          cap.textContent = summary.replace("{researchers}", meta.researchers).replace("{links}", meta.coauthor_links)
            .replace("{studies}", meta.studies);
          container.parentNode.insertBefore(cap, container);
        }
      })
      .catch(function () {
        container.innerHTML = "";
        var p = document.createElement("p");
        p.className = "graph-status";
        p.textContent = container.dataset.error || "Error";
        container.appendChild(p);
        container.dataset.state = "error";
      });
  }

  document.querySelectorAll(".graph[data-graph], .graph[data-src]").forEach(start);
})();
