// The template editor: bpmn-js with our motcua: extension, a side panel for the selected step's
// role, budget, warning and escalation (written through the moddle, so every edit can be undone
// and nobody touches XML), saving as a draft and showing the server's validation findings.
document.addEventListener("DOMContentLoaded", () => {
  const root = document.getElementById("editor");
  if (!root) return;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const modeler = new window.BpmnJS({
    container: document.getElementById("canvas"),
    moddleExtensions: { motcua: window.MOTCUA_MODDLE },
  });
  // Other panels (connectors.js: a service task's connector) attach to the same modeler.
  document.dispatchEvent(new CustomEvent("motcua:modeler", { detail: modeler }));
  const modeling = modeler.get("modeling");
  const moddle = modeler.get("moddle");
  const registry = modeler.get("elementRegistry");
  const selection = modeler.get("selection");
  const canvas = modeler.get("canvas");
  const overlays = modeler.get("overlays");
  const form = document.getElementById("step-form");
  const rows = document.getElementById("escalation-rows");
  const statusLine = document.getElementById("save-status");
  const STEP_TYPES = ["bpmn:UserTask", "bpmn:ManualTask"];
  let saveUrl = root.dataset.saveUrl;
  let current = null; // the selected step shape the panel edits
  let marked = [];
  let applying = false; // the panel's own writes must not redraw the panel under the user's cursor

  // --- reading and writing the motcua: elements of a step ---------------------------------

  const extensionValues = (bo) => (bo.extensionElements && bo.extensionElements.values) || [];
  const stepOf = (bo) => extensionValues(bo).find((v) => v.$type === "motcua:Step");
  const escalationsOf = (bo) => extensionValues(bo).filter((v) => v.$type === "motcua:Escalation");

  function ensureExtensions(element) {
    const bo = element.businessObject;
    if (!bo.extensionElements) {
      const ext = moddle.create("bpmn:ExtensionElements", { values: [] });
      ext.$parent = bo;
      modeling.updateProperties(element, { extensionElements: ext });
    }
    return bo.extensionElements;
  }

  function ensureStep(element) {
    const existing = stepOf(element.businessObject);
    if (existing) return existing;
    const ext = ensureExtensions(element);
    const step = moddle.create("motcua:Step");
    step.$parent = ext;
    modeling.updateModdleProperties(element, ext, { values: [step, ...ext.values] });
    return step;
  }

  function laneOf(bo) {
    const lane = registry.find((e) => e.type === "bpmn:Lane" && (e.businessObject.flowNodeRef || []).includes(bo));
    return lane ? lane.businessObject : null;
  }

  function knownRoles() {
    const roles = new Set();
    registry.forEach((e) => {
      const step = e.businessObject && stepOf(e.businessObject);
      if (step && step.role) roles.add(step.role);
      if (e.type === "bpmn:Lane" && e.id.startsWith("Lane_")) roles.add(e.id.slice(5));
    });
    return [...roles].sort();
  }

  // --- the side panel -----------------------------------------------------------------------

  function addEscalationRow(values = {}) {
    const row = document.getElementById("escalation-row").content.firstElementChild.cloneNode(true);
    for (const name of ["after", "action", "target", "priority"]) {
      if (values[name] !== undefined && values[name] !== null) row.querySelector(`[name=${name}]`).value = values[name];
    }
    row.querySelector(".remove").addEventListener("click", () => { row.remove(); applyForm(); });
    rows.appendChild(row);
  }

  function showPanel(element) {
    current = element && STEP_TYPES.includes(element.type) ? element : null;
    form.hidden = !current;
    document.getElementById("no-selection").hidden = !!current;
    if (!current) return;
    const bo = current.businessObject;
    const step = stepOf(bo) || {};
    document.getElementById("step-name").textContent = bo.name || "";
    document.getElementById("step-id").textContent = bo.id;
    form.role.value = step.role || "";
    form.budget.value = step.budget || "";
    form.warnAt.value = step.warnAt || "";
    form.optional.checked = step.optional === "true";
    const lane = laneOf(bo);
    document.getElementById("lane-hint").textContent = lane
      ? t("Làn: %(lane)s", { lane: lane.name || lane.id }) + (step.role ? "" : t(" — bước chưa ghi vai trò nên dùng tên làn làm vai trò")) : "";
    document.getElementById("known-roles").replaceChildren(...knownRoles().map((role) => {
      const option = document.createElement("option");
      option.value = role;
      return option;
    }));
    rows.replaceChildren();
    escalationsOf(bo).forEach((e) => addEscalationRow(e));
  }

  function panelEscalations() {
    return [...rows.querySelectorAll("tr")].map((row) => {
      const value = (name) => row.querySelector(`[name=${name}]`).value.trim() || undefined;
      return { after: value("after"), action: value("action"), target: value("target"), priority: value("priority") };
    }).filter((e) => e.after || e.target);
  }

  const sameEscalations = (a, b) => JSON.stringify(a) === JSON.stringify(b);
  const plain = (e) => ({ after: e.after || undefined, action: e.action || undefined, target: e.target || undefined,
                          priority: e.priority === undefined || e.priority === null ? undefined : String(e.priority) });

  function applyForm() {
    if (!current) return;
    applying = true;
    try {
      writeForm();
    } finally {
      applying = false;
    }
  }

  function writeForm() {
    const bo = current.businessObject;
    const wanted = {};
    for (const name of ["role", "budget", "warnAt"]) wanted[name] = form[name].value.trim() || undefined;
    wanted.optional = form.optional.checked ? "true" : undefined;
    const existing = stepOf(bo);
    const changed = Object.keys(wanted).filter((k) => ((existing && existing.get(k)) || undefined) !== wanted[k]);
    if (changed.length && (existing || changed.some((k) => wanted[k] !== undefined))) {
      const step = ensureStep(current);
      modeling.updateModdleProperties(current, step, Object.fromEntries(changed.map((k) => [k, wanted[k]])));
    }
    const escalations = panelEscalations();
    if (!sameEscalations(escalations, escalationsOf(bo).map(plain))) {
      const ext = ensureExtensions(current);
      const others = ext.values.filter((v) => v.$type !== "motcua:Escalation");
      const created = escalations.map((e) => {
        const element = moddle.create("motcua:Escalation", Object.fromEntries(Object.entries(e).filter(([, v]) => v !== undefined)));
        element.$parent = ext;
        return element;
      });
      modeling.updateModdleProperties(current, ext, { values: [...others, ...created] });
    }
  }

  form.addEventListener("change", applyForm);
  form.addEventListener("submit", (event) => { event.preventDefault(); applyForm(); });
  document.getElementById("add-escalation").addEventListener("click", () => addEscalationRow({ action: "notify" }));
  modeler.get("eventBus").on("selection.changed", ({ newSelection }) => showPanel(newSelection.length === 1 ? newSelection[0] : null));
  modeler.get("eventBus").on("commandStack.changed", () => {
    // Undo, redo and edits on the diagram itself: show the step as the model now has it.
    if (current && !applying) showPanel(registry.get(current.id));
  });

  // --- findings -----------------------------------------------------------------------------

  function elementFor(id) {
    if (!id) return null;
    return registry.get(id)
      || registry.find((e) => e.businessObject && e.businessObject.processRef && e.businessObject.processRef.id === id)
      || null;
  }

  function select(element) {
    selection.select(element);
    try { canvas.scrollToElement(element); } catch (error) { /* the element is already in view */ }
  }

  function showFindings(findings) {
    marked.forEach(({ id, cls }) => canvas.removeMarker(id, cls));
    overlays.remove({ type: "finding" });
    marked = [];
    const list = document.getElementById("findings");
    list.replaceChildren();
    const errors = findings.filter((f) => f.severity === "error").length;
    document.getElementById("findings-summary").textContent = findings.length
      ? t("%(errors)s lỗi, %(warnings)s cảnh báo. Bấm vào một dòng để chọn phần tử trên sơ đồ.",
        { errors, warnings: findings.length - errors })
      : t("Không có lỗi hay cảnh báo: có thể công bố.");
    for (const finding of findings) {
      const element = elementFor(finding.element_id);
      const item = document.createElement("li");
      item.className = finding.severity;
      const button = document.createElement("button");
      button.type = "button";
      button.dataset.elementId = finding.element_id || "";
      button.textContent = `${finding.severity_label}${finding.element_id ? ` [${finding.element_id}]` : ""}: ${finding.message}`;
      if (element) {
        button.addEventListener("click", () => select(element));
        const cls = `finding-${finding.severity}`;
        canvas.addMarker(element.id, cls);
        marked.push({ id: element.id, cls });
        overlays.add(element.id, "finding", { position: { top: -10, right: 10 },
          html: `<span class="finding-badge ${finding.severity}" title="${finding.code}">!</span>` });
      } else {
        button.disabled = !finding.element_id;
      }
      item.appendChild(button);
      list.appendChild(item);
    }
  }

  // --- saving -------------------------------------------------------------------------------

  async function save() {
    applyForm();
    statusLine.textContent = t("Đang lưu…");
    const { xml } = await modeler.saveXML({ format: true });
    let answer;
    try {
      const response = await fetch(saveUrl, {
        method: "POST", credentials: "same-origin", body: xml,
        headers: { "Content-Type": "application/xml", "X-CSRFToken": csrf, Accept: "application/json" },
      });
      answer = await response.json().catch(() => ({ error: t("Máy chủ trả lời %(status)s", { status: response.status }) }));
    } catch (error) {
      answer = { error: t("Không gửi được: %(error)s", { error: error.message }) };
    }
    if (answer.error) {
      statusLine.textContent = t("Chưa lưu: %(error)s", { error: answer.error });
      statusLine.className = "error";
      return;
    }
    statusLine.className = "";
    statusLine.replaceChildren(t("Đã lưu bản nháp phiên bản %(version)s", { version: answer.version })
      + (answer.ok ? t(" — hợp lệ. ") : t(" — còn lỗi, xem danh sách. ")));
    const link = document.createElement("a");
    link.href = answer.template_url;
    link.textContent = t("Về trang mẫu để công bố");
    statusLine.appendChild(link);
    root.dataset.savedVersion = answer.version;
    const url = new URL(saveUrl, window.location.href);
    url.searchParams.set("tu-phien-ban", answer.version);
    saveUrl = url.pathname + url.search;
    window.history.replaceState(null, "", answer.editor_url);
    document.getElementById("editing-note").textContent =
      t("Đang sửa bản nháp phiên bản %(version)s; mỗi lần lưu ghi đè bản nháp này.", { version: answer.version });
    showFindings(answer.findings);
  }

  document.getElementById("save").addEventListener("click", save);

  // --- loading ------------------------------------------------------------------------------

  (async () => {
    try {
      const response = await fetch(root.dataset.xmlUrl, { credentials: "same-origin" });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      await modeler.importXML(await response.text());
      canvas.zoom("fit-viewport");
      showFindings(JSON.parse(document.getElementById("initial-findings").textContent));
      const wanted = elementFor(root.dataset.select);
      if (wanted) select(wanted);
      root.dataset.ready = "true";
    } catch (error) {
      statusLine.textContent = t("Không mở được sơ đồ: %(error)s", { error: explain(error) });
      statusLine.className = "error";
    }
  })();
});

// bpmn-js says "no diagram to display" for a file without BPMNDiagram (drawn by hand or another tool).
function explain(error) {
  return /no diagram to display/.test(error.message)
    ? t("tệp BPMN không có phần hình vẽ (BPMNDiagram); hãy dùng «Lập bảng bước» để tạo sơ đồ có bố cục.")
    : error.message;
}
