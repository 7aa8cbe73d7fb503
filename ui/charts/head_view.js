// The head view drawn in the page (ui/charts/head_view.py mounts it as a Streamlit component).
// Token labels are HTML text (set with textContent, so a token is never parsed as HTML); the lines
// are painted on one canvas, which a browser draws in a few milliseconds even for thousands of lines.
// Hovering a token keeps only its lines and lists their weights above the chart.
export default function headView({ data, parentElement }) {
  const { tokens, heads, colours, links, style } = data;
  const row = style.row_px;
  const n = tokens.length;
  let root = parentElement.querySelector(".lk-head-view");
  if (!root) {
    root = document.createElement("div");
    root.className = "lk-head-view";
    root.dataset.lk = "head-view";
    parentElement.appendChild(root);
  }
  root.replaceChildren();
  root.style.fontSize = style.font_px + "px";

  // The legend and the hover readout stay at the top while a long view scrolls under them.
  const header = document.createElement("div");
  header.className = "lk-header";
  root.appendChild(header);
  if (heads.length > 1) {
    const legend = document.createElement("div");
    legend.className = "lk-legend";
    heads.forEach((name, h) => {
      const item = document.createElement("span");
      const swatch = document.createElement("span");
      swatch.className = "lk-swatch";
      swatch.style.background = colours[h];
      item.append(swatch, document.createTextNode(name));
      legend.appendChild(item);
    });
    header.appendChild(legend);
  }

  const grid = document.createElement("div");
  grid.className = "lk-grid";
  const column = (side) => {
    const box = document.createElement("div");
    box.className = "lk-tokens lk-" + side;
    tokens.forEach((token, pos) => {
      const label = document.createElement("div");
      label.textContent = token;
      label.style.height = label.style.lineHeight = row + "px";
      label.dataset.side = side;
      label.dataset.pos = pos;
      box.appendChild(label);
    });
    return box;
  };
  const canvas = document.createElement("canvas");
  canvas.setAttribute("role", "img");
  canvas.setAttribute("aria-label", "Lines from each query token (left) to the key tokens it reads (right)");
  const ratio = window.devicePixelRatio || 1;
  const width = style.line_px, height = n * row;
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(height * ratio);
  canvas.style.width = width + "px";
  canvas.style.height = height + "px";
  grid.append(column("q"), canvas, column("k"));
  const readout = document.createElement("div");
  readout.className = "lk-readout";
  readout.textContent = style.hint;
  header.appendChild(readout);
  root.appendChild(grid);

  const context = canvas.getContext("2d");
  context.scale(ratio, ratio);
  context.lineCap = "round";
  const y = (pos) => row * (pos + 0.5);
  const scale = ([low, high], w) => low + (high - low) * w;

  function draw(hover) {
    context.clearRect(0, 0, width, height);
    let shown = 0;
    for (let k = 0; k < links.length; k += 4) {
      const [h, i, j, w] = [links[k], links[k + 1], links[k + 2], links[k + 3]];
      const on = !hover || (hover.side === "q" ? i === hover.pos : j === hover.pos);
      shown += on ? 1 : 0;
      context.globalAlpha = on ? scale(style.opacity, w) : style.dim_opacity;
      context.strokeStyle = colours[h];
      context.lineWidth = scale(style.stroke, w);
      context.beginPath();
      context.moveTo(0, y(i));
      context.lineTo(width, y(j));
      context.stroke();
    }
    root.dataset.shown = shown; // lines drawn in full (tests read it)
  }

  function describe(hover) {
    const rows = [];
    for (let k = 0; k < links.length; k += 4) {
      const [h, i, j, w] = [links[k], links[k + 1], links[k + 2], links[k + 3]];
      if (hover.side === "q" ? i === hover.pos : j === hover.pos) rows.push([w, h, hover.side === "q" ? j : i]);
    }
    rows.sort((a, b) => b[0] - a[0]);
    const listed = rows.slice(0, style.listed).map(([w, h, other]) =>
      `${tokens[other]} ${w.toFixed(3)}` + (heads.length > 1 ? ` (${heads[h]})` : ""));
    const token = tokens[hover.pos];
    if (!listed.length) return `“${token}”: no line above the threshold.`;
    const more = rows.length > listed.length ? ` and ${rows.length - listed.length} more` : "";
    return (hover.side === "q" ? `“${token}” reads: ` : `“${token}” is read by: `) + listed.join(", ") + more;
  }

  grid.onmouseover = (event) => {
    const label = event.target.closest("[data-side]");
    if (!label) {
      draw(null);
      readout.textContent = style.hint;
      return;
    }
    const hover = { side: label.dataset.side, pos: Number(label.dataset.pos) };
    draw(hover);
    readout.textContent = describe(hover);
  };
  grid.onmouseleave = () => {
    draw(null);
    readout.textContent = style.hint;
  };
  draw(null);
}
