// The service-task panel beside the diagram: choose a connector (the registry comes from the page)
// and give its parameters. They are written as spiffworkflow:serviceTaskOperator / parameter
// extension elements through the modeler's commands (undo works), kept as generic elements so no
// other spiffworkflow: extension of the template is touched. Values are Python expressions; a
// required parameter left empty is flagged as it is typed, the rest is checked on save.
document.addEventListener("motcua:modeler", ({ detail: modeler }) => {
  const panel = document.getElementById("connector-panel");
  if (!panel) return;
  const SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core";
  const registry = JSON.parse(document.getElementById("connector-registry").textContent);
  const moddle = modeler.get("moddle");
  const modeling = modeler.get("modeling");
  const select = panel.querySelector("select[name=connector]");
  const resultInput = panel.querySelector("input[name=resultVariable]");
  const rows = panel.querySelector("#connector-params");
  let current = null;
  let applying = false;

  select.replaceChildren(new Option("—", ""), ...registry.map((c) => new Option(`${c.name} — ${c.label}`, c.name)));

  const values = (bo) => (bo.extensionElements && bo.extensionElements.values) || [];
  const operatorOf = (bo) => values(bo).find((v) => v.$type === "spiffworkflow:serviceTaskOperator");
  const childrenOf = (node, type) => (node && node.$children || []).filter((c) => c.$type === type);

  function paramsOf(operator) {
    const found = {};
    for (const group of childrenOf(operator, "spiffworkflow:parameters")) {
      for (const p of childrenOf(group, "spiffworkflow:parameter")) found[p.id] = p.value || "";
    }
    return found;
  }

  function show(element) {
    current = element && element.type === "bpmn:ServiceTask" ? element : null;
    panel.hidden = !current;
    if (!current) return;
    const operator = operatorOf(current.businessObject);
    select.value = operator ? operator.id : "";
    resultInput.value = operator && operator.resultVariable || "";
    drawRows(operator ? operator.id : "", operator ? paramsOf(operator) : {});
  }

  function drawRows(name, given) {
    const spec = registry.find((c) => c.name === name);
    rows.replaceChildren();
    if (!spec) return;
    for (const p of spec.parameters) {
      const row = document.createElement("label");
      row.className = "connector-param";
      row.textContent = `${p.name}${p.required ? " *" : ""}`;
      const input = document.createElement("input");
      input.name = p.name;
      input.dataset.required = p.required ? "true" : "";
      input.placeholder = p.help || "";
      input.value = given[p.name] || "";
      input.addEventListener("input", () => { flag(input); write(); });
      row.appendChild(input);
      rows.appendChild(row);
      flag(input);
    }
  }

  function flag(input) {
    const missing = input.dataset.required && !input.value.trim();
    input.setAttribute("aria-invalid", missing ? "true" : "false");
    input.title = missing ? panel.dataset.requiredText : "";
  }

  function write() {
    if (!current || applying) return;
    applying = true;
    try {
      const bo = current.businessObject;
      const name = select.value;
      const kept = values(bo).filter((v) => v.$type !== "spiffworkflow:serviceTaskOperator");
      const params = [...rows.querySelectorAll("input")].filter((i) => i.value.trim()).map((i) =>
        moddle.createAny("spiffworkflow:parameter", SPIFF, { id: i.name, type: "any", value: i.value.trim() }));
      const operator = name ? moddle.createAny("spiffworkflow:serviceTaskOperator", SPIFF, {
        id: name, ...(resultInput.value.trim() ? { resultVariable: resultInput.value.trim() } : {}),
        $children: [moddle.createAny("spiffworkflow:parameters", SPIFF, { $children: params })],
      }) : null;
      const ext = bo.extensionElements || moddle.create("bpmn:ExtensionElements", { values: [] });
      const next = operator ? [...kept, operator] : kept;
      if (!bo.extensionElements) {
        ext.values = next;
        ext.$parent = bo;
        modeling.updateProperties(current, { extensionElements: ext });
      } else {
        modeling.updateModdleProperties(current, ext, { values: next });
      }
      next.forEach((v) => { v.$parent = ext; });
    } finally {
      applying = false;
    }
  }

  select.addEventListener("change", () => { drawRows(select.value, {}); write(); });
  resultInput.addEventListener("input", write);
  modeler.get("eventBus").on("selection.changed", ({ newSelection }) => show(newSelection.length === 1 ? newSelection[0] : null));
});
