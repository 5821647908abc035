// Graph views: the ego network on a profile (and its own page) and the community explorer.
// Everything here is an enhancement: the server renders the same people as lists and tables.
// No inline script or style: cytoscape draws on a canvas, and graph.css carries the one rule it
// would otherwise inject as a <style> element (see the comment there).
(() => {
  "use strict";
  const CYTOSCAPE_SRC = "/static/vendor/cytoscape/cytoscape.min.js";
  // The same colours as graph.css.
  const ROLE_COLORS = {
    influencer: "#e6550d", evangelist: "#31a354", moderator: "#3182bd", employee_advocate: "#756bb1",
    customer: "#e7ba52", journalist: "#d6616b", partner: "#17becf", other: "#8c6d31",
  };
  const NO_ROLE = "#bdbdbd";
  const KIND_COLORS = {
    knows: "#64748b", follows: "#0ea5e9", mentions: "#f59e0b", replies_to: "#10b981",
    collaborates: "#8b5cf6", referred: "#ec4899", colleague: "#78350f",
  };
  const COMMUNITY_COLORS = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
    "#e377c2", "#bcbd22", "#17becf", "#aec7e8", "#ffbb78", "#98df8a",
  ];
  const OTHER_COMMUNITY = "#c7c7c7";

  let cytoscapeLoading = null;
  function loadCytoscape() {
    if (window.cytoscape) return Promise.resolve(window.cytoscape);
    if (!cytoscapeLoading) {
      cytoscapeLoading = new Promise((resolve, reject) => {
        const script = document.createElement("script");
        script.src = CYTOSCAPE_SRC;
        script.onload = () => resolve(window.cytoscape);
        script.onerror = () => reject(new Error("cytoscape did not load"));
        document.head.appendChild(script);
      });
    }
    return cytoscapeLoading;
  }

  const roleColor = (roles) => (roles && roles.length ? ROLE_COLORS[roles[0]] || NO_ROLE : NO_ROLE);
  const communityColor = (c) => (c === null || c === undefined || c >= COMMUNITY_COLORS.length ? OTHER_COMMUNITY : COMMUNITY_COLORS[c]);
  const clamp = (x, lo, hi) => Math.max(lo, Math.min(hi, x));
  const sizeOf = (reach, base, step) => base + step * Math.log10(1 + Math.max(0, reach || 0));

  function baseStyle() {
    return [
      { selector: "node", style: {
        "background-color": "data(color)", width: "data(size)", height: "data(size)", label: "data(label)",
        "font-size": 11, "text-valign": "bottom", "text-margin-y": 3, color: "#1e293b",
        "text-outline-color": "#ffffff", "text-outline-width": 2, "min-zoomed-font-size": 7,
        "border-width": 1, "border-color": "#ffffff",
      } },
      { selector: "node.center", style: { "border-width": 4, "border-color": "#0f172a", "font-weight": "bold" } },
      { selector: "node.focus", style: { width: 26, height: 26, "border-width": 4, "border-color": "#0f172a", "font-size": 16, "z-index": 10 } },
      { selector: "node:active, node:selected", style: { "overlay-opacity": 0.15 } },
      { selector: "edge", style: {
        width: "data(width)", "line-color": "data(color)", "target-arrow-color": "data(color)",
        "target-arrow-shape": "data(arrow)", "curve-style": "bezier", "arrow-scale": 0.9, opacity: 0.75,
      } },
      { selector: "edge.derived", style: { "line-style": "dashed" } },
    ];
  }

  function openOnTap(cy) {
    cy.on("tap", "node", (event) => {
      const url = event.target.data("url");
      if (url) window.location.assign(url);
    });
    cy.on("mouseover", "node", (event) => { event.cy.container().classList.add("pointing"); });
    cy.on("mouseout", "node", (event) => { event.cy.container().classList.remove("pointing"); });
  }

  function drawEgo(cytoscape, container, data) {
    const elements = [];
    for (const n of data.nodes) {
      elements.push({
        group: "nodes", classes: n.hop === 0 ? "center" : "",
        data: { id: String(n.id), label: n.name, url: n.url, hop: n.hop, roles: n.roles, community: n.community,
                color: roleColor(n.roles), size: sizeOf(n.reach, n.hop === 0 ? 30 : 18, 5) },
      });
    }
    data.edges.forEach((e, i) => {
      elements.push({
        group: "edges", classes: e.origin === "interaction" ? "derived" : "",
        data: { id: "e" + i, source: String(e.source), target: String(e.target), kind: e.kind,
                color: KIND_COLORS[e.kind] || "#94a3b8", width: 1 + 3 * clamp(e.strength, 0, 1), arrow: "triangle" },
      });
    });
    const cy = cytoscape({
      container, elements, style: baseStyle(), minZoom: 0.2, maxZoom: 3,
      layout: { name: "concentric", concentric: (node) => 3 - node.data("hop"), levelWidth: () => 1,
                minNodeSpacing: 18, animate: false, padding: 20 },
    });
    openOnTap(cy);
    return cy;
  }

  // Communities drawn side by side, each as a sunflower of its members (most connected in the middle):
  // linear in the number of people, so 500 of them lay out at once, unlike a force layout.
  function communityPositions(nodes) {
    const groups = new Map();
    for (const n of nodes) {
      const key = n.community === null ? -1 : n.community;
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key).push(n);
    }
    const spacing = 16;
    const ordered = [...groups.entries()].sort((a, b) => b[1].length - a[1].length || a[0] - b[0]);
    const radii = ordered.map(([, members]) => spacing * Math.sqrt(members.length) + 24);
    const area = radii.reduce((sum, r) => sum + 4 * r * r, 0);
    const rowWidth = Math.max(2 * radii[0], Math.sqrt(area) * 1.3);
    const positions = {};
    let x = 0; let y = 0; let rowHeight = 0;
    ordered.forEach(([, members], i) => {
      const r = radii[i];
      if (x > 0 && x + 2 * r > rowWidth) { x = 0; y += rowHeight + 20; rowHeight = 0; }
      const cx = x + r; const cy = y + r;
      members.forEach((n, j) => {
        const angle = j * 2.39996323; // the golden angle
        const dist = spacing * Math.sqrt(j + 0.5);
        positions[String(n.id)] = { x: cx + dist * Math.cos(angle), y: cy + dist * Math.sin(angle) };
      });
      x += 2 * r + 20;
      rowHeight = Math.max(rowHeight, 2 * r);
    });
    return positions;
  }

  function drawExplorer(cytoscape, container, data) {
    const positions = communityPositions(data.nodes);
    const elements = [];
    for (const n of data.nodes) {
      elements.push({
        group: "nodes", classes: n.id === data.focus ? "focus" : "", position: positions[String(n.id)],
        data: { id: String(n.id), label: n.name, url: n.url, community: n.community, roles: n.roles,
                color: communityColor(n.community), size: sizeOf(n.reach, 6, 3) },
      });
    }
    data.edges.forEach((e, i) => {
      elements.push({
        group: "edges",
        data: { id: "e" + i, source: String(e.source), target: String(e.target), color: "#94a3b8",
                width: clamp(0.5 + e.weight, 0.5, 3), arrow: "none" },
      });
    });
    const style = baseStyle();
    style.push({ selector: "node", style: { "font-size": 9, "min-zoomed-font-size": 9 } });
    style.push({ selector: "edge", style: { opacity: 0.35, "curve-style": "haystack" } });
    const cy = cytoscape({
      container, elements, style, layout: { name: "preset", fit: true, padding: 20 },
      minZoom: 0.05, maxZoom: 4, hideEdgesOnViewport: true, textureOnViewport: true,
    });
    openOnTap(cy);
    if (data.focus !== null && data.focus !== undefined) {
      const found = cy.getElementById(String(data.focus));
      if (found.nonempty()) {
        found.select();
        cy.zoom({ level: 1.6, position: found.position() });
        cy.center(found);
      }
    }
    return cy;
  }

  function colourBy(root, mode) {
    const container = root.querySelector(".graph-canvas");
    const cy = container && container.cy;
    if (!cy) return;
    cy.nodes().forEach((node) => {
      node.data("color", mode === "community" ? communityColor(node.data("community")) : roleColor(node.data("roles")));
    });
    root.querySelectorAll("[data-color-by]").forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.colorBy === mode)));
    const legend = root.querySelector(".graph-legend.roles");
    if (legend) legend.hidden = mode === "community";
  }

  async function draw(container) {
    if (container.dataset.state) return;
    container.dataset.state = "loading";
    try {
      const [response, cytoscape] = await Promise.all([
        fetch(container.dataset.graphSrc, { headers: { Accept: "application/json" }, credentials: "same-origin" }),
        loadCytoscape(),
      ]);
      if (!response.ok) throw new Error("HTTP " + response.status);
      const data = await response.json();
      const cy = container.dataset.graphKind === "explorer"
        ? drawExplorer(cytoscape, container, data) : drawEgo(cytoscape, container, data);
      container.cy = cy; // for the colour buttons (and the browser tests)
      container.dataset.state = "ready";
      const colour = container.parentElement.querySelector(".graph-colour");
      if (colour) colour.hidden = false;
    } catch (error) {
      container.dataset.state = "error";
      container.textContent = container.dataset.errorText || String(error);
    }
  }

  function drawAll(root) {
    root.querySelectorAll(".graph-canvas[data-graph-src]").forEach((container) => { draw(container); });
  }

  // The profile page's panel: fetch the network block when first opened (and again for 1/2 hops).
  async function loadPanel(details, url) {
    const body = details.querySelector(".ego-body");
    body.setAttribute("aria-busy", "true");
    try {
      const response = await fetch(url, { headers: { "HX-Request": "true" }, credentials: "same-origin" });
      if (!response.ok) throw new Error("HTTP " + response.status);
      body.innerHTML = await response.text(); // our own server's template, escaped there
      drawAll(body);
    } catch (error) {
      details.dataset.loaded = "";
    } finally {
      body.removeAttribute("aria-busy");
    }
  }

  document.addEventListener("toggle", (event) => {
    const details = event.target;
    if (!(details instanceof HTMLDetailsElement) || !details.open || !details.dataset.egoSrc) return;
    if (details.dataset.loaded) return;
    details.dataset.loaded = "1";
    loadPanel(details, details.dataset.egoSrc);
  }, true); // "toggle" does not bubble: listen while it is captured

  document.addEventListener("click", (event) => {
    const target = event.target instanceof Element ? event.target : null;
    if (!target) return;
    const hops = target.closest(".ego-body a[data-hops]");
    if (hops) {
      event.preventDefault();
      loadPanel(hops.closest("details"), hops.getAttribute("href"));
      return;
    }
    const button = target.closest("[data-color-by]");
    if (button) colourBy(button.closest(".ego-network") || document, button.dataset.colorBy);
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", () => drawAll(document));
  } else {
    drawAll(document);
  }
})();
