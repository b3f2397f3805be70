// The decision-table editor: dmn-js on one DMN file of a template version, saved into the draft;
// the template's findings about this table are listed and their cells marked (by the cell's id,
// which dmn-js writes as data-element-id), like the diagram's findings on its shapes. dmn-js's own
// words are Vietnamese through its translate module (dmn-vi.js).
document.addEventListener("DOMContentLoaded", () => {
  const root = document.getElementById("decision-editor");
  if (!root) return;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const messages = JSON.parse(document.getElementById("table-messages").textContent);
  const say = (key, values = {}) => messages[key].replace(/%\((\w+)\)s/g, (_, name) => values[name]);
  const statusLine = document.getElementById("table-status");
  const container = document.getElementById("table-canvas");
  // Each of dmn-js's views takes its own modules (its `common` option cannot carry them).
  const vietnamese = { additionalModules: [{ translate: ["value", window.motcuaTranslateTable] }] };
  const modeler = new window.DmnJS({
    container, drd: vietnamese, decisionTable: vietnamese, literalExpression: vietnamese, boxedExpression: vietnamese,
  });
  let saveUrl = root.dataset.saveUrl;
  let findings = [];

  function cellsOf(id) {
    return id ? [...container.querySelectorAll(`[data-element-id="${CSS.escape(id)}"], [data-row-id="${CSS.escape(id)}"]`)] : [];
  }

  function markFindings() {
    container.querySelectorAll(".finding-error, .finding-warning").forEach((cell) => {
      cell.classList.remove("finding-error", "finding-warning");
    });
    for (const finding of findings) {
      cellsOf(finding.element_id).forEach((cell) => cell.classList.add(`finding-${finding.severity}`));
    }
  }

  function showFindings(list, others = 0) {
    findings = list;
    const box = document.getElementById("table-findings");
    box.replaceChildren();
    const errors = list.filter((f) => f.severity === "error").length;
    const summary = list.length ? say("counts", { errors, warnings: list.length - errors }) : say("none");
    document.getElementById("table-findings-summary").textContent =
      summary + (others ? " " + say("others", { count: others }) : "");
    for (const finding of list) {
      const item = document.createElement("li");
      item.className = finding.severity;
      const button = document.createElement("button");
      button.type = "button";
      button.dataset.elementId = finding.element_id || "";
      button.textContent = `${finding.severity_label}${finding.element_id ? ` [${finding.element_id}]` : ""}: ${finding.message}`;
      button.addEventListener("click", () => {
        const [cell] = cellsOf(finding.element_id);
        if (cell) { cell.scrollIntoView({ block: "center" }); cell.focus && cell.focus(); }
      });
      item.appendChild(button);
      box.appendChild(item);
    }
    markFindings();
  }

  async function save() {
    statusLine.className = "";
    statusLine.textContent = say("saving");
    const { xml } = await modeler.saveXML({ format: true });
    let answer;
    try {
      const response = await fetch(saveUrl, {
        method: "POST", credentials: "same-origin", body: xml,
        headers: { "Content-Type": "application/xml", "X-CSRFToken": csrf, Accept: "application/json" },
      });
      answer = await response.json().catch(() => ({ error: `HTTP ${response.status}` }));
    } catch (error) {
      answer = { error: say("not_sent", { error: error.message }) };
    }
    if (answer.error) {
      statusLine.textContent = say("not_saved", { error: answer.error });
      statusLine.className = "error";
      return;
    }
    statusLine.replaceChildren(say("saved", { version: answer.version }) + (answer.ok ? say("valid") : say("invalid")));
    const link = document.createElement("a");
    link.href = answer.template_url;
    link.textContent = say("back");
    statusLine.appendChild(link);
    const url = new URL(saveUrl, window.location.href);
    url.searchParams.set("tu-phien-ban", answer.version);
    saveUrl = url.pathname + url.search;
    window.history.replaceState(null, "", answer.editor_url);
    root.dataset.savedVersion = answer.version;
    showFindings(answer.findings, answer.other_errors);
  }

  document.getElementById("save-table").addEventListener("click", save);
  // dmn-js redraws the table on every edit: marks go back on after each render.
  new MutationObserver(() => { if (findings.length) markFindings(); })
    .observe(container, { childList: true, subtree: true });

  (async () => {
    try {
      let xml;
      if (root.dataset.xmlUrl) {
        const response = await fetch(root.dataset.xmlUrl, { credentials: "same-origin" });
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        xml = await response.text();
      } else {
        xml = document.getElementById("blank-table").textContent;
      }
      await modeler.importXML(xml);
      const table = modeler.getViews().find((view) => view.type === "decisionTable");
      if (table) await modeler.open(table);
      showFindings(JSON.parse(document.getElementById("table-findings-initial").textContent));
      root.dataset.ready = "true";
    } catch (error) {
      statusLine.textContent = say("cannot_open", { error: error.message });
      statusLine.className = "error";
    }
  })();
});
