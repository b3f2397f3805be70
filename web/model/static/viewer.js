// The template page: the selected version's diagram, read-only (zoom and pan).
document.addEventListener("DOMContentLoaded", async () => {
  const container = document.getElementById("diagram");
  if (!container) return;
  const viewer = new window.BpmnJS({ container });
  try {
    const response = await fetch(container.dataset.xmlUrl, { credentials: "same-origin" });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    await viewer.importXML(await response.text());
    window.motcuaDiagramView(viewer.get("canvas"), container).fit();
  } catch (error) {
    const note = document.getElementById("diagram-error");
    note.textContent = t("Không hiển thị được sơ đồ: %(error)s", { error: explain(error) });
    note.hidden = false;
  }
});

// bpmn-js says "no diagram to display" for a file without BPMNDiagram (drawn by hand or another tool).
function explain(error) {
  return /no diagram to display/.test(error.message)
    ? t("tệp BPMN không có phần hình vẽ (BPMNDiagram); hãy dùng «Lập bảng bước» để tạo sơ đồ có bố cục.")
    : error.message;
}
