// What the editor and the template page share about looking at a diagram on any screen.
//
// bpmn-js computes a fitted zoom from its container's size: in a container of zero width or
// height (a hidden tab, a grid column squeezed to nothing on a phone) the scale is infinite and
// SVGMatrix throws "non-finite". So the diagram is fitted once its container has a size, and
// again whenever the container's size changes, until the reader zooms or pans it themselves.
// diagram-js reads the mouse only: one finger pans and two fingers pinch-zoom here.
window.motcuaDiagramView = function (canvas, container) {
  let fitted = false; // whether the page asked for the diagram fitted (after its import)
  let touchedByReader = false;
  const sized = () => container.clientWidth > 0 && container.clientHeight > 0;

  function fit() {
    if (!sized()) return false;
    canvas.resized();
    canvas.zoom("fit-viewport", "auto");
    return true;
  }

  new ResizeObserver(() => {
    if (!sized()) return;
    canvas.resized();
    if (fitted && !touchedByReader) fit();
  }).observe(container);

  function zoomBy(factor, center) {
    if (!sized()) return;
    touchedByReader = true;
    const scale = Math.min(4, Math.max(0.2, canvas.zoom() * factor));
    canvas.zoom(scale, center || { x: container.clientWidth / 2, y: container.clientHeight / 2 });
  }

  // --- touch: one finger pans, two fingers pinch ---------------------------------------------
  let last = null; // the previous touch position: its centre and, with two fingers, their spread

  function touchState(event) {
    const box = container.getBoundingClientRect();
    const points = [...event.touches].slice(0, 2).map((t) => ({ x: t.clientX - box.left, y: t.clientY - box.top }));
    const [a, b] = points;
    if (!b) return { x: a.x, y: a.y, spread: 0, fingers: 1 };
    return { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2, spread: Math.hypot(a.x - b.x, a.y - b.y), fingers: 2 };
  }

  container.addEventListener("touchstart", (event) => { last = touchState(event); }, { passive: true });
  container.addEventListener("touchend", (event) => { last = event.touches.length ? touchState(event) : null; });
  container.addEventListener("touchmove", (event) => {
    if (!last || !sized()) return;
    event.preventDefault(); // the gesture moves the diagram, not the page
    const now = touchState(event);
    if (now.fingers !== last.fingers) { last = now; return; }
    touchedByReader = true;
    canvas.scroll({ dx: now.x - last.x, dy: now.y - last.y });
    if (now.fingers === 2 && last.spread > 0) zoomBy(now.spread / last.spread, { x: now.x, y: now.y });
    last = now;
  }, { passive: false });

  return {
    fit() { fitted = true; touchedByReader = false; return fit(); },
    zoomIn() { zoomBy(1.25); },
    zoomOut() { zoomBy(0.8); },
  };
};
