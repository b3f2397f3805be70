// The template editor: bpmn-js with our motcua: extension, a side panel for the selected step's
// role, budget, warning and escalation (written through the moddle, so every edit can be undone
// and nobody touches XML; a value the server's rules refuse is shown with its reason and not
// written), saving as a draft and showing the findings the server computed from the saved XML.
// The list and the diagram's markers are drawn from one list, filtered to the elements that
// still exist, so they always agree.
document.addEventListener("DOMContentLoaded", () => {
  const root = document.getElementById("editor");
  if (!root) return;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const modeler = new window.BpmnJS({
    container: document.getElementById("canvas"),
    moddleExtensions: { motcua: window.MOTCUA_MODDLE },
    additionalModules: [{ translate: ["value", window.motcuaTranslateDiagram] }],
  });
  // Other panels (connectors.js: a service task's connector) attach to the same modeler.
  document.dispatchEvent(new CustomEvent("motcua:modeler", { detail: modeler }));
  const modeling = modeler.get("modeling");
  const moddle = modeler.get("moddle");
  const registry = modeler.get("elementRegistry");
  const selection = modeler.get("selection");
  const canvas = modeler.get("canvas");
  const overlays = modeler.get("overlays");
  const view = window.motcuaDiagramView(canvas, document.getElementById("canvas"));
  const form = document.getElementById("step-form");
  const rows = document.getElementById("escalation-rows");
  const statusLine = document.getElementById("save-status");
  const STEP_TYPES = ["bpmn:UserTask", "bpmn:ManualTask"];
  let saveUrl = root.dataset.saveUrl;
  let current = null; // the selected step shape the panel edits
  let marked = [];
  let findings = []; // as the server computed them from the last saved (or loaded) XML
  let depth = 0; // edits on the command stack (undo takes one back)
  let savedAt = 0; // the depth when the findings were computed
  let refused = {}; // panel field -> why the server's rules refuse what was typed there
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
    showRefusals({});
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

  // --- checking what is typed, by the rules a saved template is checked by -------------------

  function afterInputs() {
    return [...rows.querySelectorAll("[name=after]")];
  }

  async function checkPanel() {
    const query = new URLSearchParams({ budget: form.budget.value, warnAt: form.warnAt.value });
    afterInputs().forEach((input) => query.append("after", input.value));
    try {
      const response = await fetch(`${root.dataset.checkUrl}?${query}`, { credentials: "same-origin" });
      refused = response.ok ? await response.json() : {};
    } catch (error) {
      refused = {}; // offline: the save's validation still names every bad value
    }
    showRefusals(refused);
    return refused;
  }

  function showRefusals(problems) {
    refused = problems;
    form.querySelectorAll(".field-error").forEach((node) => node.remove());
    form.querySelectorAll("[aria-invalid]").forEach((node) => node.removeAttribute("aria-invalid"));
    const inputs = { budget: form.budget, warnAt: form.warnAt };
    afterInputs().forEach((input, index) => { inputs[`after-${index}`] = input; });
    for (const [name, message] of Object.entries(problems)) {
      const input = inputs[name];
      if (!input) continue;
      input.setAttribute("aria-invalid", "true");
      const note = document.createElement("span");
      note.className = "field-error";
      note.setAttribute("role", "alert");
      note.textContent = t("Không nhận giá trị này: %(reason)s", { reason: message });
      input.insertAdjacentElement("afterend", note);
    }
  }

  let typing = null;
  form.addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(checkPanel, 250);
  });

  const sameEscalations = (a, b) => JSON.stringify(a) === JSON.stringify(b);
  const plain = (e) => ({ after: e.after || undefined, action: e.action || undefined, target: e.target || undefined,
                          priority: e.priority === undefined || e.priority === null ? undefined : String(e.priority) });

  async function applyForm() {
    if (!current) return;
    const element = current;
    const problems = await checkPanel();
    if (current !== element) return; // the selection moved while the values were checked
    applying = true;
    try {
      writeForm(problems);
    } finally {
      applying = false;
    }
  }

  function writeForm(problems) {
    const bo = current.businessObject;
    const existing = stepOf(bo);
    const wanted = {};
    for (const name of ["role", "budget", "warnAt"]) {
      // A refused value is not written: the model keeps what it had, the panel shows why.
      wanted[name] = problems[name] ? (existing && existing.get(name)) || undefined : form[name].value.trim() || undefined;
    }
    wanted.optional = form.optional.checked ? "true" : undefined;
    const changed = Object.keys(wanted).filter((k) => ((existing && existing.get(k)) || undefined) !== wanted[k]);
    if (changed.length && (existing || changed.some((k) => wanted[k] !== undefined))) {
      const step = ensureStep(current);
      modeling.updateModdleProperties(current, step, Object.fromEntries(changed.map((k) => [k, wanted[k]])));
    }
    const escalations = panelEscalations();
    const badAfter = Object.keys(problems).some((name) => name.startsWith("after-"));
    if (!badAfter && !sameEscalations(escalations, escalationsOf(bo).map(plain))) {
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
  modeler.get("eventBus").on("commandStack.changed", ({ trigger }) => {
    depth += trigger === "undo" ? -1 : trigger === "clear" ? -depth : 1;
    // Undo, redo and edits on the diagram itself: show the step as the model now has it, and the
    // findings of the elements that still exist (a deleted element's come back with an undo).
    if (current && !applying) showPanel(registry.get(current.id) || null);
    drawFindings();
  });

  // --- findings ---------------------------------------------------------------------------

  function elementFor(id) {
    if (!id) return null;
    return registry.get(id)
      || registry.find((e) => e.businessObject && e.businessObject.processRef && e.businessObject.processRef.id === id)
      || null;
  }

  function select(elements) {
    selection.select(elements);
    try { canvas.scrollToElement(elements[0]); } catch (error) { /* the element is already in view */ }
  }

  // The elements a finding is about that are still on the diagram; null when it was about
  // elements that are all gone (its finding no longer applies).
  function presentElements(finding) {
    const ids = (finding.elements && finding.elements.length) ? finding.elements : (finding.element_id ? [finding.element_id] : []);
    const present = ids.map(elementFor).filter(Boolean);
    return ids.length && !present.length ? null : present;
  }

  function label(element) {
    const bo = element.businessObject || {};
    return bo.name || (bo.processRef && bo.processRef.name) || t("quy trình");
  }

  function unmark() {
    for (const { id, cls } of marked) {
      if (registry.get(id)) canvas.removeMarker(id, cls); // a deleted element took its markers with it
    }
    marked = [];
    overlays.remove({ type: "finding" });
  }

  function mark(element, finding) {
    const cls = `finding-${finding.severity}`;
    canvas.addMarker(element.id, cls);
    marked.push({ id: element.id, cls });
    if (element.type === "bpmn:Process" || element.type === "bpmn:Collaboration") return; // the root has no shape
    overlays.add(element.id, "finding", { position: { top: -10, right: 10 },
      html: `<span class="finding-badge ${finding.severity}" title="${finding.code}">!</span>` });
  }

  function setFindings(list) {
    findings = list;
    savedAt = depth;
    drawFindings();
  }

  function drawFindings() {
    unmark();
    const shown = findings.map((f) => [f, presentElements(f)]).filter(([, elements]) => elements !== null);
    const list = document.getElementById("findings");
    list.replaceChildren();
    const errors = shown.filter(([f]) => f.severity === "error").length;
    document.getElementById("findings-summary").textContent = shown.length
      ? t("%(errors)s lỗi, %(warnings)s cảnh báo. Bấm vào một dòng để chọn phần tử trên sơ đồ.",
        { errors, warnings: shown.length - errors })
      : t("Không có lỗi hay cảnh báo: có thể công bố.");
    const changed = depth !== savedAt;
    document.getElementById("findings-stale").hidden = !changed;
    for (const [finding, elements] of shown) {
      const item = document.createElement("li");
      item.className = finding.severity;
      const button = document.createElement("button");
      button.type = "button";
      button.dataset.elementId = elements.length ? elements[0].id : "";
      button.dataset.elementIds = elements.map((e) => e.id).join(" ");
      const where = elements.length === 1 ? ` [${label(elements[0])}]` : "";
      button.textContent = `${finding.severity_label}${where}: ${finding.message}`;
      const shapes = elements.filter((e) => e.type !== "bpmn:Process" && e.type !== "bpmn:Collaboration");
      if (shapes.length) button.addEventListener("click", () => select(shapes));
      else button.disabled = true;
      elements.forEach((element) => mark(element, finding));
      item.appendChild(button);
      list.appendChild(item);
    }
    return errors;
  }

  // --- saving -------------------------------------------------------------------------------

  async function save() {
    await applyForm();
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
    setFindings(answer.findings);
    // The status says what the list says: both come from the findings of the XML just saved.
    const valid = !answer.findings.some((f) => f.severity === "error");
    statusLine.replaceChildren(t("Đã lưu bản nháp phiên bản %(version)s", { version: answer.version })
      + (valid ? t(" — hợp lệ. ") : t(" — còn lỗi, xem danh sách. ")));
    const link = document.createElement("a");
    link.href = answer.template_url;
    link.textContent = t("Về trang mẫu để công bố");
    statusLine.appendChild(link);
    root.dataset.savedVersion = answer.version;
    root.dataset.saves = Number(root.dataset.saves || 0) + 1; // lets a test wait for this save, not the last one
    const url = new URL(saveUrl, window.location.href);
    url.searchParams.set("tu-phien-ban", answer.version);
    saveUrl = url.pathname + url.search;
    window.history.replaceState(null, "", answer.editor_url);
    document.getElementById("editing-note").textContent =
      t("Đang sửa bản nháp phiên bản %(version)s; mỗi lần lưu ghi đè bản nháp này.", { version: answer.version });
  }

  document.getElementById("save").addEventListener("click", save);
  document.getElementById("zoom-in").addEventListener("click", () => view.zoomIn());
  document.getElementById("zoom-out").addEventListener("click", () => view.zoomOut());
  document.getElementById("zoom-fit").addEventListener("click", () => view.fit());

  // --- loading ------------------------------------------------------------------------------

  (async () => {
    try {
      const response = await fetch(root.dataset.xmlUrl, { credentials: "same-origin" });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      await modeler.importXML(await response.text());
      view.fit();
      setFindings(JSON.parse(document.getElementById("initial-findings").textContent));
      const wanted = elementFor(root.dataset.select);
      if (wanted) select([wanted]);
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
